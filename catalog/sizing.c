/* catalog/sizing.c: see sizing.h. */
#include "catalog/sizing.h"

#include <string.h>

#include "oci/cleanup.h"

void cat_sizing_defaults(struct cat_sizing_opts *o)
{
	o->os_gb = 10;
	o->gpu_gb = 10;
	o->headroom_pct = 15;
	o->headroom_min_gb = 2;
}

static int64_t bytes_of(double gb)
{
	return (int64_t)(gb * CAT_GB + 0.5);
}

/* Integer arithmetic on bytes, so that one byte over a boundary counts and
 * an exact multiple does not round up. */
static int ceil_gb(int64_t bytes, int step)
{
	int64_t unit = (int64_t)CAT_GB * step;
	return bytes <= 0 ? 0 : (int)((bytes + unit - 1) / unit) * step;
}

int64_t cat_unpacked_bytes(const struct oci_layer_stats *st)
{
	/* a sparse file's holes are in file_bytes, not in the tar stream */
	return st->file_bytes > st->tar_bytes ? st->file_bytes : st->tar_bytes;
}

void cat_sizing_compute(const struct cat_sizing_opts *o, bool gpu, int64_t on_disk_bytes,
                        int64_t compressed_bytes, int64_t unpacked_bytes, struct cat_sizing *s)
{
	int64_t image = on_disk_bytes + compressed_bytes;
	int64_t headroom = (int64_t)((double)image * o->headroom_pct / 100 + 0.5);
	if (headroom < bytes_of(o->headroom_min_gb))
		headroom = bytes_of(o->headroom_min_gb);
	int64_t total = bytes_of(o->os_gb) + (gpu ? bytes_of(o->gpu_gb) : 0) + image + headroom;

	s->os = o->os_gb;
	s->gpu = gpu ? o->gpu_gb : 0;
	s->on_disk = (double)on_disk_bytes / CAT_GB;
	s->compressed = (double)compressed_bytes / CAT_GB;
	s->headroom = (double)headroom / CAT_GB;
	s->total = (double)total / CAT_GB;
	s->min_disk_gb = ceil_gb(total, CAT_DISK_STEP_GB);
	s->unpacked = (double)unpacked_bytes / CAT_GB;
	s->docker_size_gb = ceil_gb(unpacked_bytes, 1);
}

enum cat_provision cat_sizing_status(const struct cat_sizing *rec, int min_disk_gb,
                                     int docker_size_gb)
{
	if (min_disk_gb < rec->min_disk_gb || docker_size_gb < rec->docker_size_gb)
		return CAT_UNDER;
	if (min_disk_gb * 2 > rec->min_disk_gb * 3)
		return CAT_OVER;
	return CAT_OK;
}

const char *cat_provision_name(enum cat_provision p)
{
	switch (p) {
	case CAT_OK:
		return "ok";
	case CAT_UNDER:
		return "under-provisioned";
	case CAT_OVER:
		return "over-provisioned";
	}
	return "?";
}

int cat_sizing_writeback(const struct cat_catalog *cat, const struct cat_sizing_result *res,
                         size_t n, bool allow_lower, struct cat_sizing_change **out,
                         oci_error *err)
{
	_cleanup_free_ struct cat_sizing_change *ch = oci_xcalloc(2 * n + 1, sizeof *ch);
	int n_ch = 0;

	for (size_t i = 0; i < n; i++) {
		bool first = true;
		int want[2] = { -1, -1 };
		for (size_t k = 0; k < n && first; k++) {
			if (strcmp(res[k].key, res[i].key) != 0)
				continue;
			first = k >= i;
			if (res[k].min_disk_gb > want[0])
				want[0] = res[k].min_disk_gb;
			if (res[k].docker_size_gb > want[1])
				want[1] = res[k].docker_size_gb;
		}
		if (!first)
			continue;
		const struct cat_image *img = cat_image_find(cat, res[i].key);
		if (!img)
			return oci_err(err, OCI_E_USAGE, "%s: no longer in %s", res[i].key, cat->path);
		const int cur[2] = { img->min_disk_gb, img->docker_size_gb };
		static const char *const fields[2] = { "minDiskSizeGb", "dockerSizeGb" };
		for (int f = 0; f < 2; f++) {
			if (cur[f] >= 0 && (cur[f] == want[f] || (cur[f] > want[f] && !allow_lower)))
				continue;
			ch[n_ch++] = (struct cat_sizing_change){ res[i].key, fields[f], cur[f], want[f] };
		}
	}
	*out = TAKE_PTR(ch);
	return n_ch;
}
