/* fuzz-token: a token server's answer (reg_token_parse), whose token goes
 * into the Authorization header of every request that follows.
 *
 * Input: the answer's body.  Properties: an accepted token is non-empty,
 * holds no control character (no CR LF: no header of the server's choosing)
 * and is at most 1 MiB; its lifetime is between 1 second and a day.
 */
#include <jansson.h>

#include "fuzz.h"
#include "oci/text.h"
#include "registry/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)data, size, 0, &jerr);
	const char *tok = NULL;
	long ttl = 0;
	oci_error err = { 0 };
	if (reg_token_parse(j, &tok, &ttl, &err) == 0) {
		FUZZ_ASSERT(tok && *tok);
		FUZZ_ASSERT(!oci_text_has_ctl(tok));
		FUZZ_ASSERT(strlen(tok) <= REG_TOKEN_MAX);
		FUZZ_ASSERT(ttl >= 1 && ttl <= REG_TOKEN_TTL_MAX);
	} else {
		FUZZ_ASSERT(err.code == OCI_E_AUTH && err.msg[0]);
	}
	json_decref(j);
	return 0;
}
