/* oci/text.c: escaping control characters, redacting secrets (oci/text.h). */
#include "oci/text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "oci/util.h"

/* Length of the valid UTF-8 sequence at p (1–4), or 0 when p does not
 * start one (a stray continuation byte, an overlong form, a surrogate, a
 * code point past U+10FFFF, a sequence cut short). */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* The bytes of the next piece of s: *esc set when they are to be shown
 * as \xHH each. */
static size_t next_piece(const unsigned char *p, bool *esc)
{
	if (*p < 0x20 || *p == 0x7f) {
		*esc = true;
		return 1;
	}
	if (*p < 0x80) {
		*esc = false;
		return 1;
	}
	size_t n = utf8_len(p);
	/* C1 controls (CSI is U+009B) are UTF-8 C2 80 – C2 9F */
	*esc = n == 0 || (n == 2 && p[0] == 0xc2 && p[1] <= 0x9f);
	return n ? n : 1;
}

char *oci_text_escape_buf(const char *s, char *out, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = 0;
	while (*p) {
		bool esc;
		size_t k = next_piece(p, &esc);
		size_t need = esc ? 4 * k : k;
		if (len + need >= n)
			break;
		for (size_t i = 0; i < k; i++) {
			if (esc)
				len += (size_t)snprintf(out + len, 5, "\\x%02x", p[i]);
			else
				out[len++] = (char)p[i];
		}
		p += k;
	}
	out[len] = '\0';
	return out;
}

char *oci_text_escape(const char *s)
{
	if (!s)
		return NULL;
	size_t n = 4 * strlen(s) + 1;
	return oci_text_escape_buf(s, oci_xmalloc(n), n);
}

bool oci_text_has_ctl(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

void oci_text_redact(char *s, const char *secret)
{
	size_t sl = secret ? strlen(secret) : 0;
	if (sl < 4)
		return;
	const char *mark = sl >= 10 ? "[redacted]" : "***";
	size_t ml = strlen(mark);
	char *p = s;
	while ((p = strstr(p, secret))) {
		memmove(p + ml, p + sl, strlen(p + sl) + 1);
		memcpy(p, mark, ml);
		p += ml; /* the mark itself may hold the secret */
	}
}
