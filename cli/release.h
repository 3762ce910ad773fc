/* cli/release.h: catalog versions joined with where they stand in the
 * registry (registry/status.h), for `status`, `assemble --all` and verify's
 * stale warning, and the next step for a person, in words.
 *
 * A run owns its rows, their cat_target, the status targets and the
 * repositories it opened; the catalog it points into stays the caller's
 * and must outlive it.  cli_release_free() releases it all.
 */
#ifndef CCREG_CLI_RELEASE_H
#define CCREG_CLI_RELEASE_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog/catalog.h"
#include "cli/cli.h"
#include "registry/status.h"

struct cli_release_row {
	const struct cat_image *img;
	const struct cat_version *ver;
	char *skip;                /* not looked at, and why (invalid tag, disabled) */
	struct cat_target ct;
	struct reg_repo **repos;   /* per arch, borrowed from the run */
	char **tags;               /* per arch: the version's tag */
	const char *known_target;  /* the target as the caller read it (verify), */
	const struct oci_index *known_index; /* so it is not read again; or NULL */
};

struct cli_release {
	struct cli_release_row *rows;
	struct reg_status_target *t; /* per row, after cli_release_run() */
	size_t n;
	struct {
		char *name;
		struct reg_repo *repo;
	} *repos;
	size_t n_repos;
	char *cache_dir;             /* the audit cache, for disk figures */
};

/* Add img's version ver (skip: a reason not to look at it, or NULL). */
void cli_release_add(struct cli_ctx *ctx, struct cli_release *r, const struct cat_image *img,
                     const struct cat_version *ver, const char *skip);
/* Every version of img, newest first. */
void cli_release_add_image(struct cli_ctx *ctx, struct cli_release *r,
                           const struct cat_image *img, const char *skip);
/* Look every row up (ping: first check once that the registry answers;
 * when it does not, every row is an ERROR with its message).  disk: read the
 * audit cache for the disk figures.  Returns the exit code the run deserves:
 * 0, or the worst registry error (OCI_E_AUTH over OCI_E_REGISTRY). */
int cli_release_run(struct cli_ctx *ctx, struct cli_release *r, bool ping, bool disk);
void cli_release_free(struct cli_release *r);

/* A reference as a person types it: without "docker.io/". */
const char *cli_release_short(const char *reference);
/* The next step for row i, one line (the caller frees). */
char *cli_release_next(const struct cli_release *r, size_t i);
/* For a STALE row: "julia:1.10.1: REPO-arm64:1.10.1 is now sha256:…, the
 * index holds sha256:…; ccreg assemble julia:1.10.1" (caller frees); NULL
 * when the row is not stale. */
char *cli_release_stale_reason(const struct cli_release *r, size_t i);
/* The disk recommendation of row i from its audit-cache figures: false when
 * there are none. */
bool cli_release_recommend(const struct cli_release *r, size_t i, int *min_disk_gb,
                           int *docker_size_gb);

struct reg_asm_source;
/* The assemble sources of a catalog version: its per-arch images (caller
 * frees the array; it borrows ct's strings). */
struct reg_asm_source *cli_target_sources(const struct cat_target *ct);
/* `assemble --all [--dry-run]` (cli/assemble_all.c): the exit code. */
int cli_assemble_all(struct cli_ctx *ctx, bool dry);

#endif
