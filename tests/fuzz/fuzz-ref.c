/* fuzz-ref: image references (oci_ref_parse and friends), digests and
 * platform strings — every string a user types on the command line.
 *
 * Property: a reference that parses prints (oci_ref_string) as one that
 * parses back to the same string.
 */
#include "fuzz.h"
#include "oci/cleanup.h"
#include "oci/digest.h"
#include "oci/platform.h"
#include "oci/ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = fuzz_str(data, size);
	oci_error err = {0};
	struct oci_ref ref = {0};

	if (oci_ref_parse(&ref, s, &err) == 0) {
		_cleanup_free_ char *str = oci_ref_string(&ref);
		_cleanup_free_ char *name = oci_ref_name(&ref);
		FUZZ_ASSERT(str && name && ref.domain && ref.path);
		FUZZ_ASSERT(ref.tag || ref.digest);
		FUZZ_ASSERT(oci_ref_api_host(&ref) && oci_ref_reference(&ref));
		(void)oci_host_is_loopback(ref.domain);

		struct oci_ref again = {0};
		FUZZ_ASSERT(oci_ref_parse(&again, str, &err) == 0);
		_cleanup_free_ char *str2 = oci_ref_string(&again);
		FUZZ_ASSERT(strcmp(str, str2) == 0);
		oci_ref_release(&again);

		struct oci_ref copy = {0};
		oci_ref_copy(&copy, &ref);
		oci_ref_release(&copy);
	} else {
		FUZZ_ASSERT(err.code != 0 && err.msg[0]);
	}
	oci_ref_release(&ref);

	struct oci_ref repo = {0};
	if (oci_ref_parse_repo(&repo, s, &err) == 0)
		FUZZ_ASSERT(!repo.digest);
	oci_ref_release(&repo);

	(void)oci_tag_valid(s);
	(void)oci_path_valid(s);
	(void)oci_host_is_loopback(s);
	if (oci_digest_validate(s, &err) == 0)
		FUZZ_ASSERT(oci_digest_hex(s) != NULL);

	struct oci_platform p = {0};
	if (oci_platform_parse(&p, s, &err) == 0) {
		_cleanup_free_ char *ps = oci_platform_string(&p);
		FUZZ_ASSERT(ps);
		FUZZ_ASSERT(oci_platform_match(&p, &p));
	}
	oci_platform_release(&p);
	return 0;
}
