/* registry/status.h: where a release stands: per-arch images, the target,
 * and whether the target holds the current per-arch images.
 *
 * reg_status() looks at a batch of versions, REG_SMALL_WIDTH (4) x `jobs`
 * at once over the client's shared connections (small requests; config
 * reads at most the client's `jobs` at once, its blob GET slots), each with
 * as few requests as it can:
 *   1. HEAD the target tag and every per-arch source tag (HEAD is free on
 *      Docker Hub);
 *   2. a source that is an index (buildx) is read by digest and its image
 *      for the wanted platform taken; a target that exists is read by
 *      digest (an index read a manifest cache can serve) and its child for
 *      each wanted platform compared with the source's image;
 *   3. when the next step is to assemble (BUILT or STALE), each source's
 *      config must say the wanted platform, as assemble will demand; and for
 *      a current target, each platform's layers are looked up in the audit
 *      cache (no blob is read) for the disk figures.
 *
 * States (the contract's, plus ERROR):
 *   MISSING   no per-arch image (single-arch: no target)
 *   PARTIAL   some arches built, no target
 *   BUILT     every arch built, no target
 *   STALE     the target's children are not the current per-arch images
 *   ASSEMBLED the target holds every wanted platform, from the current
 *             per-arch images where they still exist; RELEASED when tested
 *   ERROR     could not tell (code OCI_E_REGISTRY/OCI_E_AUTH), or a source
 *             holds the wrong platform (OCI_E_USAGE); problem says why.
 * A single-arch image's target is the image itself: MISSING, ASSEMBLED or
 * RELEASED.  reg_status_assemble_skip() is `assemble --all`'s rule.
 *
 * Inputs stay the caller's; reg_status_target_release() frees the outputs.
 */
#ifndef CCREG_REGISTRY_STATUS_H
#define CCREG_REGISTRY_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "oci/layerstats.h"
#include "oci/platform.h"
#include "registry/client.h"

enum reg_status_state {
	REG_STATUS_MISSING,
	REG_STATUS_PARTIAL,
	REG_STATUS_BUILT,
	REG_STATUS_STALE,
	REG_STATUS_ASSEMBLED,
	REG_STATUS_RELEASED,
	REG_STATUS_ERROR,
};
/* "missing", "partial", "built", "stale", "assembled", "released", "error" */
const char *reg_status_state_name(enum reg_status_state s);

struct reg_status_target {
	/* in */
	struct reg_repo *target_repo;
	const char *target_name;           /* "host/pkg:tag", for messages */
	const char *tag;
	size_t n;                          /* arches */
	struct reg_repo *const *source_repos; /* per arch; unused when single_arch */
	const char *const *source_names;   /* per arch "host/pkg-arm64:tag" */
	const char *const *source_tags;    /* per arch tag in its repo */
	const struct oci_platform *want;   /* per arch */
	bool single_arch, tested;
	const char *known_target;          /* the target's digest and index when the caller */
	const struct oci_index *known_index; /* read them already (verify), else NULL */
	/* out */
	enum reg_status_state state;
	int code;                 /* 0, or the ERROR's OCI_E_* */
	char *problem;            /* ERROR: one line; else NULL */
	char *target;             /* digest the target tag points to, NULL if absent */
	char **sources;           /* per arch: the image digest for want[i], NULL if absent */
	char **held;              /* per arch: the target's child for want[i], NULL if none */
	bool have_disk;           /* every layer of every platform was in the audit cache */
	struct oci_layer_stats *disk; /* per arch (single_arch: one), when have_disk */
};

/* Fill the outputs of every target.  cache_dir: the audit cache
 * (oci/auditcache.h) for the disk figures, or NULL. */
void reg_status(struct reg_status_target *t, size_t n, const char *cache_dir, int jobs);
void reg_status_target_release(struct reg_status_target *t);

/* The first arch whose source differs from what the target holds (for a
 * STALE target's message), or SIZE_MAX. */
size_t reg_status_stale_arch(const struct reg_status_target *t);

/* assemble --all: NULL when the version is to be assembled (BUILT, STALE),
 * else why not ("partial: arm64 not built", "already assembled", …; a
 * string with static storage or pointing into t). */
const char *reg_status_assemble_skip(const struct reg_status_target *t);

#endif
