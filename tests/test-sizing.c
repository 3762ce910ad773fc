/* tests/test-sizing.c: the minDiskSizeGb / dockerSizeGb formula, the
 * provisioning status and --write's policy (catalog/sizing.h). */
#include <stdlib.h>
#include <string.h>

#include "catalog/sizing.h"
#include "tap.h"

#define GB 1000000000LL

static const char writeback_catalog[] =
	"{\n"
	"  \"julia\": { \"package\": \"t/julia\", \"minDiskSizeGb\": 20, \"dockerSizeGb\": 6 },\n"
	"  \"bare\": { \"package\": \"t/bare\" },\n"
	"  \"big\": { \"package\": \"t/big\", \"minDiskSizeGb\": 30, \"dockerSizeGb\": 1 }\n"
	"}\n";

static bool change_is(const struct cat_sizing_change *c, const char *key, const char *field,
                      int from, int to)
{
	return !strcmp(c->key, key) && !strcmp(c->field, field) && c->from == from && c->to == to;
}

static void test_writeback(void)
{
	struct cat_catalog *cat = NULL;
	struct cat_sizing_change *ch = NULL;
	oci_error err = { 0 };

	if (cat_load_buffer("images.json", writeback_catalog, strlen(writeback_catalog), &cat,
	                    &err) < 0) {
		ok(0, "writeback catalog loads (%s)", err.msg);
		return;
	}
	/* julia: two platforms, the larger of each figure counts */
	const struct cat_sizing_result two[] = { { "julia", 15, 6 }, { "julia", 25, 4 } };
	int n = cat_sizing_writeback(cat, two, 2, false, &ch, &err);
	ok(n == 1 && change_is(&ch[0], "julia", "minDiskSizeGb", 20, 25),
	   "largest over the platforms: minDiskSizeGb 20 -> 25, dockerSizeGb 6 stays");
	free(ch);

	const struct cat_sizing_result absent[] = { { "bare", 10, 2 } };
	n = cat_sizing_writeback(cat, absent, 1, false, &ch, &err);
	ok(n == 2 && change_is(&ch[0], "bare", "minDiskSizeGb", -1, 10) &&
	   change_is(&ch[1], "bare", "dockerSizeGb", -1, 2), "absent values are set, minDiskSizeGb first");
	free(ch);

	const struct cat_sizing_result lower[] = { { "big", 15, 1 } };
	n = cat_sizing_writeback(cat, lower, 1, false, &ch, &err);
	is_int(n, 0, "a higher value stays without allow_lower");
	free(ch);
	n = cat_sizing_writeback(cat, lower, 1, true, &ch, &err);
	ok(n == 1 && change_is(&ch[0], "big", "minDiskSizeGb", 30, 15),
	   "allow_lower lowers it; the equal dockerSizeGb stays");
	free(ch);

	const struct cat_sizing_result mixed[] = { { "big", 35, 1 }, { "julia", 20, 7 }, { "big", 40, 2 } };
	n = cat_sizing_writeback(cat, mixed, 3, false, &ch, &err);
	ok(n == 3 && change_is(&ch[0], "big", "minDiskSizeGb", 30, 40) &&
	   change_is(&ch[1], "big", "dockerSizeGb", 1, 2) &&
	   change_is(&ch[2], "julia", "dockerSizeGb", 6, 7),
	   "each image once, in first-seen order, over all its entries");
	free(ch);

	n = cat_sizing_writeback(cat, NULL, 0, true, &ch, &err);
	is_int(n, 0, "nothing audited: nothing to write");
	free(ch);

	const struct cat_sizing_result gone[] = { { "gone", 10, 1 } };
	ch = NULL;
	n = cat_sizing_writeback(cat, gone, 1, false, &ch, &err);
	ok(n < 0 && err.code == OCI_E_USAGE && !ch, "an image not in the catalog is refused");
	is_str(err.msg, "gone: no longer in images.json", "  and named");
	cat_free(cat);
}

int main(void)
{
	struct cat_sizing_opts o;
	struct cat_sizing s;
	cat_sizing_defaults(&o);

	/* 10 OS + 0 GPU + 4 on-disk + 1 compressed + max(0.75, 2) = 17 -> 20 */
	cat_sizing_compute(&o, false, 4 * GB, 1 * GB, 3 * GB + 1, &s);
	is_int(s.min_disk_gb, 20, "small image: 17 GB rounds up to 20");
	ok(s.headroom == 2, "headroom: the 2 GB minimum beats 15%% of 5 GB");
	is_int(s.docker_size_gb, 4, "dockerSizeGb: 3 GB + 1 byte rounds up to 4");

	/* GPU: + 10 */
	cat_sizing_compute(&o, true, 4 * GB, 1 * GB, 3 * GB, &s);
	is_int(s.min_disk_gb, 30, "GPU image: 27 GB -> 30");
	is_int(s.docker_size_gb, 3, "exactly 3 GB stays 3");

	/* large: 10 + 40 + 10 + 15% of 50 = 7.5 -> 67.5 -> 70 */
	cat_sizing_compute(&o, false, 40 * GB, 10 * GB, 36 * GB, &s);
	ok(s.headroom > 7.49 && s.headroom < 7.51, "headroom: 15%% of on-disk + compressed");
	is_int(s.min_disk_gb, 70, "large image: 67.5 -> 70");

	/* an exact multiple of 5 stays */
	o.headroom_min_gb = 0;
	o.headroom_pct = 0;
	cat_sizing_compute(&o, false, 8 * GB, 2 * GB, 0, &s);
	is_int(s.min_disk_gb, 20, "exactly 20 GB stays 20");
	is_int(s.docker_size_gb, 0, "empty image: dockerSizeGb 0");
	o.os_gb = 0;
	cat_sizing_compute(&o, false, 1, 0, 1, &s);
	is_int(s.min_disk_gb, 5, "one byte still needs 5 GB");
	is_int(s.docker_size_gb, 1, "one byte unpacked: 1 GB");

	cat_sizing_defaults(&o);
	cat_sizing_compute(&o, false, 4 * GB, 1 * GB, 3 * GB, &s); /* 20 / 3 */
	is_int(cat_sizing_status(&s, 20, 3), CAT_OK, "equal: ok");
	is_int(cat_sizing_status(&s, 30, 3), CAT_OK, "50% over: still ok");
	is_int(cat_sizing_status(&s, 35, 3), CAT_OVER, "75% over: over-provisioned");
	is_int(cat_sizing_status(&s, 15, 3), CAT_UNDER, "lower minDiskSizeGb: under-provisioned");
	is_int(cat_sizing_status(&s, 20, 2), CAT_UNDER, "lower dockerSizeGb: under-provisioned");
	is_int(cat_sizing_status(&s, -1, 3), CAT_UNDER, "absent minDiskSizeGb: under-provisioned");
	is_str(cat_provision_name(CAT_OVER), "over-provisioned", "status names");

	/* GNU sparse entries: the files' realized sizes beat the tar stream */
	struct oci_layer_stats st = { .tar_bytes = 390000000, .file_bytes = 920000000 };
	is_int(cat_unpacked_bytes(&st), 920000000, "sparse layer: the realized file sizes");
	st.file_bytes = 100;
	is_int(cat_unpacked_bytes(&st), 390000000, "a plain layer: the tar stream");
	cat_sizing_compute(&o, false, 1 * GB, 1 * GB, cat_unpacked_bytes(&(struct oci_layer_stats){
		.tar_bytes = 390000000, .file_bytes = 920000000 }), &s);
	is_int(s.docker_size_gb, 1, "0.92 GB of file data: dockerSizeGb 1");

	test_writeback();
	return tap_done();
}
