/* catalog/scan.h (internal to catalog/): byte offsets inside JSON text.
 *
 * jansson gives values but not where they are in the file; line numbers for
 * lint and byte-preserving edits need offsets.  These functions walk text
 * that jansson has already accepted, so they do no validation: on valid
 * JSON they are exact, on anything else their results are meaningless.
 * Arrays they return are malloc'd and owned by the caller.
 */
#ifndef CCREG_CATALOG_SCAN_H
#define CCREG_CATALOG_SCAN_H

#include <stdbool.h>
#include <stddef.h>

struct scan_span {
	size_t start, end; /* [start, end): a whole value, or a key with quotes */
};

struct scan_member {
	struct scan_span key, value;
};

/* Offset just past the value starting at off. */
size_t scan_value_end(const char *s, size_t len, size_t off);
/* Members of the object whose '{' is at off, in text order; returns count. */
size_t scan_object(const char *s, size_t len, size_t off, struct scan_member **out);
/* Elements of the array whose '[' is at off; returns count. */
size_t scan_array(const char *s, size_t len, size_t off, struct scan_span **out);
/* Does the key (with quotes, escapes allowed) spell name? */
bool scan_key_is(const char *s, struct scan_span key, const char *name);
/* The key decoded; caller frees. */
char *scan_key(const char *s, struct scan_span key);
/* Index of the member named name, -1 when absent. */
long scan_find(const char *s, const struct scan_member *m, size_t n, const char *name);

#endif
