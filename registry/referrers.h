/* registry/referrers.h: what refers to a manifest (OCI distribution 1.1):
 * signatures, SBOMs, attestations, each a manifest whose `subject` is it.
 *
 * Listing: a registry's referrers API (GET referrers/<digest>, filtered by
 * artifactType when it says so in OCI-Filters-Applied, else here); a
 * registry without it (404, as docker-registry 2.8) through the fallback
 * tag "sha256-<hex>", an index of the same descriptors.  An OCI layout is
 * read the same two ways regctl and oras write it: the index.json entry
 * named by the fallback tag, and the index.json entries whose manifest has
 * that subject.  cosign's own tags ("sha256-<hex>.sig", ".att", ".sbom")
 * are listed apart on request.
 *
 * Carrying: reg_referrers_collect finds an image's referrers, and theirs
 * (a signature of an SBOM), each a plan (registry/plan.h) of exact bytes;
 * the writers copy them after the image and keep the fallback tag of a
 * destination that does not index them (no OCI-Subject in the PUT's
 * answer; a layout always): read, add what is missing by digest, write;
 * entries other tools put there stay.
 *
 * Everything returned is the caller's: reg_referrers_release,
 * reg_referrer_set_release.  Errors as client.h; never prints.
 */
#ifndef CCREG_REGISTRY_REFERRERS_H
#define CCREG_REGISTRY_REFERRERS_H

#include "registry/copy.h"
#include "registry/plan.h"

#define REG_REFERRERS_DEPTH 8 /* referrers of referrers followed this deep */

enum reg_referrers_via {
	REG_REFERRERS_API,    /* the registry's referrers API */
	REG_REFERRERS_TAG,    /* the fallback tag (no API) */
	REG_REFERRERS_LAYOUT, /* an OCI layout's index.json */
};

struct reg_cosign_tag {
	char *tag; /* "sha256-<hex>.sig" */
	char *digest;
	char *media_type;
	int64_t size;
};

struct reg_referrers {
	struct oci_index found; /* descriptors: mediaType, digest, size, artifactType,
	                         * annotations; only artifact_type's when given */
	enum reg_referrers_via via;
	bool filtered;          /* the registry applied the artifactType filter */
	char *tag;              /* the fallback tag name */
	struct reg_cosign_tag *cosign; /* with cosign, those of the tags that exist */
	size_t n_cosign;
};

/* The fallback tag of digest: algorithm (first 32 characters), '-', the
 * encoded part (first 64), characters a tag cannot hold as '-'.  Caller
 * frees. */
char *reg_referrers_tag(const char *digest);

/* The referrers of digest in src (artifact_type NULL: all). */
int reg_referrers_list(const struct reg_walk_source *src, const char *digest,
                       const char *artifact_type, bool cosign, struct reg_referrers *out,
                       oci_error *err);
void reg_referrers_release(struct reg_referrers *r);

/* --- carrying them along ------------------------------------------------------ */

struct reg_referrer_group {
	char *subject;     /* a digest of the image (or of a referrer) */
	struct oci_index ix; /* its referrers, as the source lists them */
};

struct reg_referrer_set {
	struct reg_referrer_group *groups;
	size_t n_groups;
	struct reg_plan *plans; /* one per referrer, subjects' referrers first */
	size_t n_plans;
};

/* Every referrer of the image's manifests (plan), recursively. */
int reg_referrers_collect(const struct reg_walk_source *src, const struct reg_plan *image,
                          int jobs, struct reg_referrer_set *out, oci_error *err);
void reg_referrer_set_release(struct reg_referrer_set *s);
/* Total blob bytes and blob count of the set's plans (for progress). */
int64_t reg_referrer_set_bytes(const struct reg_referrer_set *s, size_t *n_blobs);

/* Copy each referrer from src to dst by digest, then update dst's fallback
 * tags for those its PUT answers did not index. */
int reg_referrers_to_registry(const struct reg_referrer_set *s, const struct reg_walk_source *src,
                              struct reg_repo *dst, const struct reg_copy_opts *o,
                              oci_error *err);
/* Write each referrer into the layout DIR and its subject's fallback tag
 * entry in index.json. */
int reg_referrers_to_layout(const struct reg_referrer_set *s, struct reg_repo *src,
                            const char *dir, const struct reg_copy_opts *o, oci_error *err);

#endif
