/* tests/test-sizing.c: the minDiskSizeGb / dockerSizeGb formula and the
 * provisioning status (catalog/sizing.h). */
#include "catalog/sizing.h"
#include "tap.h"

#define GB 1000000000LL

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
	return tap_done();
}
