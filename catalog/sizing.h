/* catalog/sizing.h: the disk-size recommendation for a catalog image.
 *
 *   minDiskSizeGb = roundup to 5 GB of
 *       OS allowance (default 10 GB)
 *     + GPU allowance (default 10 GB, GPU images only)
 *     + on-disk estimate summed over all layers
 *     + compressed size
 *     + headroom: max(headroom_pct of (on-disk + compressed), headroom_min_gb)
 *   dockerSizeGb  = unpacked size in GB, rounded up: the layers'
 *                   uncompressed tar streams, or the files' sizes when
 *                   those are larger (GNU sparse entries: the tar holds the
 *                   data, docker writes the holes too)
 *
 * GB means 10^9 bytes, as docker and registries print sizes; a provider that
 * sizes disks in GiB then gives 7% more, which errs on the safe side.  Every
 * term is kept so the CLI can print how the figure came about.
 *
 * `audit --write` holds the catalog to the recommendation through
 * cat_sizing_writeback(): which values change, the caller writes them.
 */
#ifndef CCREG_CATALOG_SIZING_H
#define CCREG_CATALOG_SIZING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "oci/layerstats.h"

#define CAT_GB 1000000000.0
#define CAT_DISK_STEP_GB 5

struct cat_sizing_opts {
	double os_gb;           /* --os-gb, 10 */
	double gpu_gb;          /* --gpu-gb, 10; counted for GPU images only */
	double headroom_pct;    /* --headroom-pct, 15 */
	double headroom_min_gb; /* --headroom-min-gb, 2 */
};

struct cat_sizing {
	/* the terms of minDiskSizeGb, in GB */
	double os, gpu, on_disk, compressed, headroom, total;
	int min_disk_gb;    /* total rounded up to a multiple of 5 */
	double unpacked;    /* GB */
	int docker_size_gb; /* unpacked rounded up */
};

void cat_sizing_defaults(struct cat_sizing_opts *o);
/* The unpacked size dockerSizeGb counts: max(tar_bytes, file_bytes). */
int64_t cat_unpacked_bytes(const struct oci_layer_stats *st);

void cat_sizing_compute(const struct cat_sizing_opts *o, bool gpu, int64_t on_disk_bytes,
                        int64_t compressed_bytes, int64_t unpacked_bytes, struct cat_sizing *out);

enum cat_provision { CAT_OK, CAT_UNDER, CAT_OVER };
/* Catalog values (-1 when absent, which counts as too low) against the
 * recommendation: under when either is below it, over when minDiskSizeGb
 * is more than 50% above it. */
enum cat_provision cat_sizing_status(const struct cat_sizing *rec, int min_disk_gb,
                                     int docker_size_gb);
const char *cat_provision_name(enum cat_provision p); /* "ok", "under-provisioned", ... */

/* `audit --write`'s policy.  res: one entry per image platform audited
 * (key borrowed, its recommendation).  Each image, in first-seen order, is
 * held to the largest recommendation over its entries: a catalog value that
 * is absent or lower is raised to it, a higher one lowered only with
 * allow_lower, an equal one stays.  *out (the caller frees the array) lists
 * the values to write, minDiskSizeGb before dockerSizeGb; returns how many,
 * or -1 with OCI_E_USAGE when an image is not in cat. */
struct cat_sizing_result {
	const char *key;
	int min_disk_gb, docker_size_gb;
};
struct cat_sizing_change {
	const char *key;   /* from res */
	const char *field; /* "minDiskSizeGb" or "dockerSizeGb" */
	int from;          /* the catalog's value, -1 when absent */
	int to;
};
int cat_sizing_writeback(const struct cat_catalog *cat, const struct cat_sizing_result *res,
                         size_t n, bool allow_lower, struct cat_sizing_change **out,
                         oci_error *err);

#endif
