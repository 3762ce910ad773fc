/* oci/text.h: text from a server made safe to show and to send.
 *
 * Whatever a registry or token server sends (error messages, tags, platform
 * names, realms, Locations) may hold control characters: escape sequences
 * that retitle a terminal or overwrite lines, or CR LF that would start a
 * new header in a request.  oci_text_escape() makes such bytes visible
 * (\xHH) for terminals and logs; oci_text_has_ctl() tells a value that must
 * not go into a header or URL at all; oci_text_redact() takes a secret out
 * of a message (a server that echoes the Authorization it got).
 *
 * Pure functions; what they return belongs to the caller.
 */
#ifndef CCREG_OCI_TEXT_H
#define CCREG_OCI_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* s with every control character as \xHH: bytes below 0x20, DEL, the C1
 * controls U+0080–U+009F (as their UTF-8 bytes), and bytes that are not
 * part of valid UTF-8.  Everything else is kept byte for byte, so the
 * result is valid UTF-8 with no control character.  Caller frees; NULL
 * stays NULL. */
char *oci_text_escape(const char *s);
/* The same into out[0..n) (n > 0), cut on a whole escape when out is too
 * small; returns out. */
char *oci_text_escape_buf(const char *s, char *out, size_t n);

/* true when s holds a byte below 0x20 or DEL: never allowed in a header
 * value, a URL or a token (Go's net/http refuses the same). */
bool oci_text_has_ctl(const char *s);

/* Replace every occurrence of secret in s (in place) with "[redacted]"
 * when longer, "***" otherwise; s shrinks or keeps its length.  Secrets
 * shorter than 4 bytes are left alone (they would match ordinary words). */
void oci_text_redact(char *s, const char *secret);

#endif
