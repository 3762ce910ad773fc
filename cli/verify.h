/* cli/verify.h: checking catalog versions against the registry (written in
 * cmd_verify.c), shared with `catalog mark-tested`. */
#ifndef CCREG_CLI_VERIFY_H
#define CCREG_CLI_VERIFY_H

#include <stdbool.h>

#include "cli/cli.h"

struct cat_catalog;
struct cat_image;
struct cat_version;

/* Verify one catalog version's target tag (as `ccreg verify IMAGE:TAG`).
 * 0 when it holds; else -1 with err: OCI_E_CHECK and the reason when
 * something is missing or wrong, OCI_E_REGISTRY/OCI_E_AUTH when the
 * registry could not tell, OCI_E_USAGE for a bad catalog entry. */
int cli_verify_version(struct cli_ctx *ctx, const struct cat_image *img,
                       const struct cat_version *ver, bool deep, oci_error *err);

#endif
