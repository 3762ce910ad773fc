/* registry/assemble.h: a multi-arch index from per-arch sources, as a plan.
 *
 * reg_asm_plan() only reads: it resolves every source (a source that is an
 * index is flattened to its image manifests, keeping the attestation
 * manifests that point at them), reads each platform from the image config,
 * refuses a config that contradicts the expected platform and two children
 * with the same platform, lists the blobs the target repository needs,
 * builds the index bytes and asks the registry which target tags already
 * hold exactly those bytes.  The plan is a value the CLI can print
 * (--dry-run) before anything is written.
 *
 * reg_asm_execute() writes, in an order that keeps tags consistent: every
 * blob (config and layers of every child, through registry/copy.h: mounted
 * or copied, concurrently, with progress), then every child manifest by
 * digest with its original bytes (concurrently), and only then the index to
 * the tags that do not already hold it.  A failure before the last step
 * leaves every tag as it was.
 *
 * The plan owns everything it points to (repositories included);
 * reg_asm_plan_release() frees it.  Errors: OCI_E_USAGE when the sources are
 * wrong (platform contradicts what is expected, duplicate platforms, an index
 * without the wanted platform), OCI_E_REGISTRY/OCI_E_AUTH from the registry
 * (a missing source names its reference).
 */
#ifndef CCREG_REGISTRY_ASSEMBLE_H
#define CCREG_REGISTRY_ASSEMBLE_H

#include <jansson.h>
#include <stdbool.h>

#include "oci/manifest.h"
#include "registry/blobcopy.h"
#include "registry/client.h"

enum reg_asm_format { REG_ASM_AUTO, REG_ASM_OCI, REG_ASM_DOCKER };

struct reg_asm_source {
	const char *ref;                  /* reference of a manifest or index */
	const struct oci_platform *want;  /* expected platform; NULL: any (every
	                                   * image of an index source is taken) */
};

struct reg_asm_options {
	const char *target;                 /* reference with a tag */
	const struct reg_asm_source *sources;
	size_t n_sources;
	const char *const *also_tags;       /* NULL-terminated, or NULL */
	json_t *annotations;                /* object of strings, or NULL (borrowed) */
	enum reg_asm_format format;
	bool no_attestations;
	int jobs;                           /* parallel requests (< 1: REG_JOBS_DEFAULT) */
	bool early_blobs;                   /* the plan will be executed: where the target's
	                                     * tag does not exist yet and every source is on
	                                     * its registry, the blobs are mounted while the
	                                     * configs are read (one round trip less) */
};

struct reg_asm_child {
	size_t source;              /* index into options' sources */
	char *source_ref;           /* normalized reference it came from */
	struct reg_repo *repo;      /* borrowed from the plan's source repos */
	struct reg_manifest raw;    /* exact bytes, media type, digest */
	struct oci_manifest m;      /* parsed */
	struct oci_descriptor desc; /* its entry in the index */
	char *platform;             /* "linux/arm64/v8"; "unknown/unknown" for attestations */
	const char *attests;        /* digest it attests (into desc), NULL for images */
};

struct reg_asm_blob {
	struct oci_descriptor d;    /* digest, size, media type */
	struct reg_repo *repo;      /* where it is read from (borrowed) */
	int how;                    /* after execute: enum reg_blob_how */
};

struct reg_asm_tag {
	char *tag;
	bool current;               /* already holds the index's exact bytes */
};

struct reg_asm_plan {
	struct oci_ref target;
	char *target_name;          /* "127.0.0.1:5000/a/julia" */
	struct reg_repo *target_repo;
	struct reg_repo **source_repos;
	size_t n_source_repos;
	struct reg_asm_child *children; /* images first, then attestations */
	size_t n_children, n_images;
	struct reg_asm_blob *blobs; /* distinct digests */
	size_t n_blobs;
	int64_t blob_bytes;
	struct oci_index index;
	char *index_bytes;
	size_t index_len;
	char index_digest[OCI_DIGEST_MAX];
	struct reg_asm_tag *tags;   /* the target's tag, then the also-tags */
	size_t n_tags;
	bool up_to_date;            /* every tag already holds the index */
	bool blobs_ready;           /* the blob step ran during the plan (early_blobs) */
	int jobs;
};

int reg_asm_plan(struct reg_client *c, const struct reg_asm_options *o,
                 struct reg_asm_plan *plan, oci_error *err);
/* progress: the blob step's events (registry/blobcopy.h), or NULL. */
int reg_asm_execute(struct reg_asm_plan *plan, const struct reg_progress *progress,
                    oci_error *err);
void reg_asm_plan_release(struct reg_asm_plan *plan);

#endif
