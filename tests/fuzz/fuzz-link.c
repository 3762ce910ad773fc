/* fuzz-link: Link header parsing for tag-list pagination (reg_link_next).
 *
 * Property: a "next" URL found is the text between some '<' and '>' of the
 * header, so it never holds either bracket and is no longer than the input.
 */
#include "fuzz.h"
#include "oci/cleanup.h"
#include "registry/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = fuzz_str(data, size);
	_cleanup_free_ char *next = reg_link_next(s);
	if (next) {
		FUZZ_ASSERT(strlen(next) < strlen(s));
		FUZZ_ASSERT(!strchr(next, '>'));
		FUZZ_ASSERT(strstr(s, next) != NULL);
	}
	return 0;
}
