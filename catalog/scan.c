/* catalog/scan.c: offsets of values in JSON text jansson already accepted. */
#include "catalog/scan.h"

#include <jansson.h>
#include <string.h>

#include "oci/cleanup.h"
#include "oci/util.h"

static size_t skip_ws(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

static size_t string_end(const char *s, size_t len, size_t i)
{
	for (i++; i < len && s[i] != '"'; i++)
		if (s[i] == '\\')
			i++;
	return i + 1;
}

size_t scan_value_end(const char *s, size_t len, size_t i)
{
	int depth = 0;

	do {
		char c = s[i];
		if (c == '"') {
			i = string_end(s, len, i);
		} else if (c == '{' || c == '[') {
			depth++, i++;
		} else if (c == '}' || c == ']') {
			depth--, i++;
		} else if (depth == 0) {
			/* a number or literal runs up to the next delimiter */
			while (i < len && !memchr(",]} \t\r\n", s[i], 7))
				i++;
		} else {
			i++;
		}
	} while (depth > 0 && i < len);
	return i;
}

size_t scan_object(const char *s, size_t len, size_t off, struct scan_member **out)
{
	struct scan_member *m = NULL;
	size_t n = 0;
	size_t i = skip_ws(s, len, off + 1);

	while (i < len && s[i] == '"') {
		m = oci_xrealloc(m, (n + 1) * sizeof *m);
		m[n].key.start = i;
		m[n].key.end = i = string_end(s, len, i);
		i = skip_ws(s, len, i) + 1; /* past ':' */
		m[n].value.start = i = skip_ws(s, len, i);
		m[n].value.end = i = scan_value_end(s, len, i);
		n++;
		i = skip_ws(s, len, i);
		if (i < len && s[i] == ',')
			i = skip_ws(s, len, i + 1);
	}
	*out = m;
	return n;
}

size_t scan_array(const char *s, size_t len, size_t off, struct scan_span **out)
{
	struct scan_span *e = NULL;
	size_t n = 0;
	size_t i = skip_ws(s, len, off + 1);

	while (i < len && s[i] != ']') {
		e = oci_xrealloc(e, (n + 1) * sizeof *e);
		e[n].start = i;
		e[n].end = i = scan_value_end(s, len, i);
		n++;
		i = skip_ws(s, len, i);
		if (i < len && s[i] == ',')
			i = skip_ws(s, len, i + 1);
	}
	*out = e;
	return n;
}

char *scan_key(const char *s, struct scan_span key)
{
	const char *p = s + key.start + 1;
	size_t n = key.end - key.start - 2;

	if (!memchr(p, '\\', n))
		return oci_xstrndup(p, n);
	/* escapes: let jansson decode the string */
	_cleanup_json_ json_t *j = json_loadb(s + key.start, key.end - key.start,
	                                      JSON_DECODE_ANY, NULL);
	return oci_xstrdup(j && json_is_string(j) ? json_string_value(j) : "");
}

bool scan_key_is(const char *s, struct scan_span key, const char *name)
{
	const char *p = s + key.start + 1;
	size_t n = key.end - key.start - 2;

	if (!memchr(p, '\\', n))
		return strlen(name) == n && memcmp(p, name, n) == 0;
	_cleanup_free_ char *k = scan_key(s, key);
	return strcmp(k, name) == 0;
}

long scan_find(const char *s, const struct scan_member *m, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (scan_key_is(s, m[i].key, name))
			return (long)i;
	return -1;
}
