/* fuzz-text: escaping what servers send before it reaches a terminal or a
 * log (oci_text_escape), and taking secrets out of it (oci_text_redact).
 *
 * Input: a secret, a newline, then the text.  Properties: the escaped text
 * holds no control character (C0, DEL, or C1 as UTF-8) and is valid UTF-8
 * (jansson accepts it as a string); escaping it again changes nothing; the
 * buffer form agrees with the allocating one; after redaction the secret
 * is gone (unless the redaction mark itself contains it).
 */
#include <jansson.h>

#include "fuzz.h"
#include "oci/cleanup.h"
#include "oci/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = fuzz_str(data, size);
	char *text = strchr(s, '\n');
	const char *secret = "";
	if (text) {
		*text++ = '\0';
		secret = s;
	} else {
		text = s;
	}

	_cleanup_free_ char *esc = oci_text_escape(text);
	for (const unsigned char *p = (const unsigned char *)esc; *p; p++) {
		FUZZ_ASSERT(*p >= 0x20 && *p != 0x7f);
		FUZZ_ASSERT(!(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f));
	}
	json_t *js = json_string(esc);
	FUZZ_ASSERT(js != NULL);
	json_decref(js);
	_cleanup_free_ char *again = oci_text_escape(esc);
	FUZZ_ASSERT(strcmp(again, esc) == 0);
	size_t n = strlen(esc) + 1;
	_cleanup_free_ char *buf = malloc(n);
	FUZZ_ASSERT(buf && strcmp(oci_text_escape_buf(text, buf, n), esc) == 0);
	/* a buffer too small cuts on a whole escape: a prefix, still clean */
	char small[16];
	oci_text_escape_buf(text, small, sizeof small);
	FUZZ_ASSERT(strncmp(small, esc, strlen(small)) == 0);

	size_t before = strlen(text);
	oci_text_redact(text, secret);
	FUZZ_ASSERT(strlen(text) <= before);
	if (strlen(secret) >= 4 && !strstr("[redacted]", secret) && !strstr("***", secret))
		FUZZ_ASSERT(strstr(text, secret) == NULL);
	return 0;
}
