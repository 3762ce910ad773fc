/* cli/cmd_digest.c: `ccreg digest REF`. */
#include <string.h>

#include "cli/commands.h"
#include "oci/cleanup.h"
#include "oci/ref.h"
#include "registry/client.h"

const struct cli_cmd_spec cmd_digest_spec = {
	.name = "digest",
	.summary = "print the digest a reference points to",
	.synopsis = (const char *const[]){ "digest REF", NULL },
	.description =
		"Print the digest of the manifest or index REF points to (sha256:...).\n",
};

int cmd_digest(struct cli_ctx *ctx, int argc, char **argv)
{
	int r = cli_no_options(&cmd_digest_spec, &argc, &argv);
	if (r)
		return r;
	if (argc != 2)
		return cli_usage_error("digest", "expected one reference");
	oci_error err = { 0 };
	_cleanup_(oci_ref_releasep) struct oci_ref ref = { 0 };
	_cleanup_(reg_repo_freep) struct reg_repo *repo = NULL;
	_cleanup_free_ char *digest = NULL;
	int rc = 0;

	if (cli_open_repo(ctx, argv[1], false, &ref, &repo, &err) < 0)
		return cli_fail(&err);
	const char *reference = oci_ref_reference(&ref);
	/* HEAD is enough when the registry sends Docker-Content-Digest; else GET
	 * and hash the bytes ourselves. */
	int found = reg_manifest_head(repo, reference, &digest, NULL, NULL, &err);
	if (found == 0) {
		oci_err(&err, OCI_E_REGISTRY, "%s:%s: manifest unknown on %s", ref.path, reference,
		        oci_ref_api_host(&ref));
		rc = cli_fail(&err);
	} else if (found < 0) {
		rc = cli_fail(&err);
	} else if (!digest || oci_digest_validate(digest, NULL) < 0 ||
	           (ref.digest && strcmp(digest, ref.digest) != 0)) {
		struct reg_manifest m = { 0 };
		if (reg_manifest_get(repo, reference, &m, &err) < 0)
			rc = cli_fail(&err);
		else
			printf("%s\n", m.digest);
		reg_manifest_release(&m);
	} else {
		printf("%s\n", digest);
	}
	return rc;
}
