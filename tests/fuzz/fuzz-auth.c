/* fuzz-auth: WWW-Authenticate parsing (reg_parse_challenges), which reads
 * what any server — or anything between ccreg and it — sends; and token
 * scope sets (reg_scopes_union / reg_scopes_cover), built from the scope
 * parameters of those challenges.
 *
 * Input: the header value; after the first newline, two scope sets
 * separated by a second newline.  Property: the union covers both.
 */
#include "fuzz.h"
#include "oci/cleanup.h"
#include "registry/auth.h"

#define MAX_CH 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = fuzz_str(data, size);
	char *a = strchr(s, '\n'), *b = NULL;
	if (a) {
		*a++ = '\0';
		b = strchr(a, '\n');
		if (b)
			*b++ = '\0';
	}

	struct reg_challenge ch[MAX_CH];
	int n = reg_parse_challenges(s, ch, MAX_CH);
	FUZZ_ASSERT(n >= -1 && n <= MAX_CH);
	for (int i = 0; i < n; i++) {
		FUZZ_ASSERT(ch[i].scheme && ch[i].scheme[0]);
		for (const char *c = ch[i].scheme; *c; c++)
			FUZZ_ASSERT(!(*c >= 'A' && *c <= 'Z'));
		reg_challenge_release(&ch[i]);
	}

	if (a && b) {
		_cleanup_free_ char *u = reg_scopes_union(a, b);
		FUZZ_ASSERT(u);
		FUZZ_ASSERT(reg_scopes_cover(u, a));
		FUZZ_ASSERT(reg_scopes_cover(u, b));
		FUZZ_ASSERT(reg_scopes_cover(u, u));
		/* the union is canonical: taking it again changes nothing */
		_cleanup_free_ char *uu = reg_scopes_union(u, NULL);
		_cleanup_free_ char *u2 = reg_scopes_union(uu, u);
		FUZZ_ASSERT(strcmp(uu, u2) == 0);
	}
	return 0;
}
