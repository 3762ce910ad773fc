/* registry/verify.h: does a tag hold what it promises?
 *
 * reg_verify() checks a batch of targets, each a tag in its repository and
 * the platforms it must hold.  The requests run in rounds, each one flat list
 * over `jobs` threads sharing the client's connections (4 x jobs for rounds
 * without config reads: small requests the transport queues over `jobs`
 * connections, or multiplexes on one over HTTP/2), so a hundred tags cost
 * about as much wall time as a hundred requests divided by `jobs`:
 *   1. each tag (reg_manifest_get: a HEAD, and a GET only when the client's
 *      cache lacks the digest): it exists, and what it is;
 *   2. for an index, each child by digest (HEAD; with deep also its bytes,
 *      to learn its config and layers); for a plain manifest, its config
 *      (its platform);
 *   3. deep only: each child's config (HEAD, then its bytes: its
 *      os/architecture must match the index entry) and a HEAD of every layer.
 * Existence is always asked of the registry (HEAD); only bytes come from
 * the cache.
 * A question several targets share (the same child, config or layer in the
 * same repository, as when many tags point to a few indexes) is asked once.
 * An index must hold every wanted platform; extra platforms and attestation
 * entries are fine.  A nested index is followed (8 levels at most): its
 * entries count as the tag's own, and `index` holds them in its place.  A plain manifest is enough only for single_arch, and
 * its config must then be the one wanted platform.
 *
 * Per target: status OK, FAILED (the registry answered and something is
 * missing or wrong) or ERROR (could not tell: unreachable, server error,
 * digest mismatch, refused; `code` is OCI_E_REGISTRY or OCI_E_AUTH).  reason
 * is the first problem found, in index order.  The inputs stay the
 * caller's; reg_verify_target_release() frees the outputs.
 */
#ifndef CCREG_REGISTRY_VERIFY_H
#define CCREG_REGISTRY_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "oci/manifest.h"
#include "oci/platform.h"
#include "registry/client.h"

enum reg_verify_status { REG_VERIFY_OK, REG_VERIFY_FAILED, REG_VERIFY_ERROR };

struct reg_verify_target {
	/* in */
	struct reg_repo *repo;
	const char *tag;
	const struct oci_platform *want; /* required platforms */
	size_t n_want;
	bool single_arch;                /* a plain manifest for want[0] will do */
	/* out */
	enum reg_verify_status status;
	int code;          /* OCI_E_CHECK when FAILED, OCI_E_REGISTRY/AUTH when ERROR */
	char *reason;      /* NULL when OK */
	char *digest;      /* of what the tag points to, when it exists */
	char **platforms;  /* found, NULL-terminated ("linux/arm64/v8"); attestations left out */
	size_t n_platforms;
	struct oci_index index; /* the tag's index as read, when it is one (has_index) */
	bool has_index;
};

/* Check every target; returns how many are not OK. */
size_t reg_verify(struct reg_verify_target *t, size_t n, bool deep, int jobs);
/* One target, as `ccreg verify IMAGE:TAG` checks it (`catalog mark-tested`
 * asks before it writes): the registry is pinged first, so one that cannot
 * be reached is reported as such.  0 when the tag holds; else -1 with err:
 * the ping's error, or t->code with "NAME: reason" (name says which tag,
 * for the message). */
int reg_verify_one(struct reg_verify_target *t, bool deep, int jobs, const char *name,
                   oci_error *err);
void reg_verify_target_release(struct reg_verify_target *t);

#endif
