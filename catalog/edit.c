/* catalog/edit.c: byte-preserving edits of images.json, written atomically.
 *
 * Each edit splices a few bytes into the raw text, copying the style
 * (spacing, line breaks, field order) from its neighbours, and describes
 * the same change on a copy of the jansson tree.  The new text is written
 * only when it parses to exactly that tree, and only when the file on disk
 * still holds the bytes the catalog was loaded from.
 */
#include "catalog/catalog.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/scan.h"
#include "oci/cleanup.h"
#include "oci/file.h"
#include "oci/util.h"

/* The JSON text of a string value, escaped by jansson. */
static char *quoted(const char *s)
{
	_cleanup_json_ json_t *j = json_string(s);
	return json_dumps(j, JSON_ENCODE_ANY);
}

static void append_span(struct oci_buf *b, const char *s, size_t start, size_t end)
{
	oci_buf_append(b, s + start, end - start);
}

static void append_str(struct oci_buf *b, const char *s)
{
	oci_buf_append(b, s, strlen(s));
}

/* Whitespace that starts the line holding off. */
static char *line_indent(const char *s, size_t off)
{
	size_t b = off, e;

	while (b > 0 && s[b - 1] != '\n')
		b--;
	for (e = b; s[e] == ' ' || s[e] == '\t'; e++)
		;
	return oci_xstrndup(s + b, e - b);
}

/* Separator after the only element of an object or array, from the text
 * between its bracket and that element: a line break and the same indent
 * when there is one, else ", ". */
static void lone_sep(struct oci_buf *b, const char *s, size_t start, size_t end)
{
	if (memchr(s + start, '\n', end - start)) {
		append_str(b, ",");
		append_span(b, s, start, end);
	} else {
		append_str(b, ", ");
	}
}

/* Text between member i and the member after it (", " or ",\n    "),
 * guessed from its neighbours when the object has only one member. */
static void member_sep(struct oci_buf *b, const char *s, size_t obj_start,
                       const struct scan_member *m, size_t n, size_t i)
{
	if (n >= 2 && i + 1 < n)
		append_span(b, s, m[i].value.end, m[i + 1].key.start);
	else if (n >= 2)
		append_span(b, s, m[i - 1].value.end, m[i].key.start);
	else
		lone_sep(b, s, obj_start + 1, m[0].key.start);
}

/* Does the file still hold the bytes cat was loaded from? */
static bool unchanged_on_disk(const struct cat_catalog *cat)
{
	_cleanup_fclose_ FILE *f = fopen(cat->path, "rb");
	char chunk[65536];
	size_t off = 0, n;

	if (!f)
		return false;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (off + n > cat->raw_len || memcmp(cat->raw + off, chunk, n) != 0)
			return false;
		off += n;
	}
	return !ferror(f) && off == cat->raw_len;
}

/* Check, write, reload.  Takes intended's reference. */
static int commit(struct cat_catalog *cat, const struct oci_buf *text, json_t *intended,
                  oci_error *err)
{
	_cleanup_json_ json_t *want = intended;
	_cleanup_json_ json_t *got = json_loadb(text->data, text->len,
	                                        JSON_REJECT_DUPLICATES, NULL);
	struct cat_catalog *fresh = NULL, tmp;

	if (!got || !json_equal(got, want))
		return oci_err(err, OCI_E_USAGE,
		               "%s: the edit would not give the intended JSON; file left as it was",
		               cat->path);
	if (!unchanged_on_disk(cat))
		return oci_err(err, OCI_E_USAGE,
		               "%s changed since it was read; file left as it was", cat->path);
	if (cat_load_buffer(cat->path, text->data, text->len, &fresh, err) < 0)
		return -1;
	/* the file keeps its mode; a symlinked catalog stays linked */
	if (oci_file_replace(cat->path, text->data, text->len, OCI_FILE_MODE_KEEP, err) < 0) {
		cat_free(fresh);
		return -1;
	}
	/* swap contents so the caller's pointer stays valid */
	tmp = *cat;
	*cat = *fresh;
	*fresh = tmp;
	cat_free(fresh);
	return 0;
}

/* The entry key as an image with an object value, with its members. */
static int entry_members(const struct cat_catalog *cat, const char *key,
                         struct cat_image **img, struct scan_member **m, size_t *n,
                         oci_error *err)
{
	*img = cat_image_find(cat, key);
	if (!*img)
		return oci_err(err, OCI_E_USAGE, "unknown catalog image \"%s\" in %s", key,
		               cat->path);
	if (!json_is_object((*img)->json))
		return oci_err(err, OCI_E_USAGE, "%s: entry %s is not an object", cat->path, key);
	*n = scan_object(cat->raw, cat->raw_len, (*img)->raw_off, m);
	return 0;
}

/* One version element in the style of `like` (an element object, or none). */
static void version_text(struct oci_buf *b, const char *s, const struct scan_span *like,
                         const char *tag, const char *label, const char *version)
{
	static const char *const names[] = { "tag", "label", "version", "tested" };
	const char *values[] = { tag, label, version, "false" };
	_cleanup_free_ struct scan_member *m = NULL;
	size_t n = 0, order[ARRAY_SIZE(names)], k = 0;
	bool used[ARRAY_SIZE(names)] = { false };

	if (like && s[like->start] == '{')
		n = scan_object(s, like->end, like->start, &m);
	/* the neighbour's field order first, then the rest in ours */
	for (size_t i = 0; i < n; i++)
		for (size_t f = 0; f < ARRAY_SIZE(names); f++)
			if (!used[f] && values[f] && scan_key_is(s, m[i].key, names[f]))
				used[f] = true, order[k++] = f;
	for (size_t f = 0; f < ARRAY_SIZE(names); f++)
		if (!used[f] && values[f])
			order[k++] = f;

	append_str(b, "{");
	if (n)
		append_span(b, s, like->start + 1, m[0].key.start);
	else
		append_str(b, " ");
	for (size_t i = 0; i < k; i++) {
		size_t f = order[i];
		_cleanup_free_ char *qk = quoted(names[f]);
		_cleanup_free_ char *qv = f == 3 ? oci_xstrdup("false") : quoted(values[f]);
		if (i > 0) {
			if (n)
				member_sep(b, s, like->start, m, n, 0);
			else
				append_str(b, ", ");
		}
		append_str(b, qk);
		if (n)
			append_span(b, s, m[0].key.end, m[0].value.start);
		else
			append_str(b, ": ");
		append_str(b, qv);
	}
	if (n)
		append_span(b, s, m[n - 1].value.end, like->end - 1);
	else
		append_str(b, " ");
	append_str(b, "}");
}

int cat_add_version(struct cat_catalog *cat, const char *key, const char *tag,
                    const char *label, const char *version, oci_error *err)
{
	_cleanup_free_ struct scan_member *m = NULL;
	_cleanup_free_ struct scan_span *el = NULL;
	_cleanup_buf_ struct oci_buf b = { 0 };
	const char *s = cat->raw;
	struct cat_image *img;
	size_t n, ne = 0, at;
	long vi;

	if (entry_members(cat, key, &img, &m, &n, err) < 0)
		return -1;
	if (!oci_tag_valid(tag))
		return oci_err(err, OCI_E_USAGE, "invalid tag \"%s\"", tag);
	if (cat_version_find(img, tag, NULL) > 0)
		return oci_err(err, OCI_E_USAGE, "%s already has a version with tag \"%s\"",
		               key, tag);
	vi = scan_find(s, m, n, "versions");
	if (vi >= 0 && s[m[vi].value.start] != '[')
		return oci_err(err, OCI_E_USAGE, "%s: versions of %s is not an array",
		               cat->path, key);
	if (vi < 0 && n == 0)
		return oci_err(err, OCI_E_USAGE, "%s: entry %s is empty", cat->path, key);

	json_t *intended = json_deep_copy(cat->root);
	json_t *entry = json_object_get(intended, key);
	json_t *nv = json_pack("{s:s}", "tag", tag);
	if (label)
		json_object_set_new(nv, "label", json_string(label));
	if (version)
		json_object_set_new(nv, "version", json_string(version));
	json_object_set_new(nv, "tested", json_false());
	if (!json_object_get(entry, "versions"))
		json_object_set_new(entry, "versions", json_array());
	json_array_append_new(json_object_get(entry, "versions"), nv);

	if (vi >= 0)
		ne = scan_array(s, cat->raw_len, m[vi].value.start, &el);
	if (ne > 0) {
		/* after the last element, separated as the elements before it */
		at = el[ne - 1].end;
		append_span(&b, s, 0, at);
		if (ne >= 2) {
			append_span(&b, s, el[ne - 2].end, el[ne - 1].start);
		} else {
			lone_sep(&b, s, m[vi].value.start + 1, el[0].start);
		}
		version_text(&b, s, &el[ne - 1], tag, label, version);
		append_span(&b, s, at, cat->raw_len);
	} else {
		/* the first version: a multi-line array indented one step
		 * deeper than the entry's fields */
		size_t ref = vi >= 0 ? m[vi].key.start : m[n - 1].key.start;
		_cleanup_free_ char *ind = line_indent(s, ref);
		_cleanup_free_ char *outer = line_indent(s, img->raw_off);
		size_t lo = strlen(outer), li = strlen(ind);
		_cleanup_free_ char *step = li > lo ? oci_xstrdup(ind + lo) : oci_xstrdup("  ");
		_cleanup_buf_ struct oci_buf arr = { 0 };

		append_str(&arr, "[\n");
		append_str(&arr, ind);
		append_str(&arr, step);
		version_text(&arr, s, NULL, tag, label, version);
		append_str(&arr, "\n");
		append_str(&arr, ind);
		append_str(&arr, "]");
		if (vi >= 0) {
			append_span(&b, s, 0, m[vi].value.start);
			oci_buf_append(&b, arr.data, arr.len);
			append_span(&b, s, m[vi].value.end, cat->raw_len);
		} else {
			append_span(&b, s, 0, m[n - 1].value.end);
			member_sep(&b, s, img->raw_off, m, n, n - 1);
			append_str(&b, "\"versions\"");
			append_span(&b, s, m[n - 1].key.end, m[n - 1].value.start);
			oci_buf_append(&b, arr.data, arr.len);
			append_span(&b, s, m[n - 1].value.end, cat->raw_len);
		}
	}
	return commit(cat, &b, intended, err);
}

int cat_set_tested(struct cat_catalog *cat, const char *key, const char *tag,
                   oci_error *err)
{
	_cleanup_free_ struct scan_member *m = NULL, *vm = NULL;
	_cleanup_free_ struct scan_span *el = NULL;
	_cleanup_buf_ struct oci_buf b = { 0 };
	const char *s = cat->raw;
	struct cat_image *img;
	size_t n, vn, idx;
	long vi, ti, ki;

	if (entry_members(cat, key, &img, &m, &n, err) < 0)
		return -1;
	int count = cat_version_find(img, tag, &idx);
	if (count == 0)
		return oci_err(err, OCI_E_USAGE, "%s has no version with tag \"%s\"", key, tag);
	if (count > 1)
		return oci_err(err, OCI_E_USAGE, "%s has %d versions with tag \"%s\"", key,
		               count, tag);
	if (img->versions[idx].tested)
		return 0;
	vi = scan_find(s, m, n, "versions");
	scan_array(s, cat->raw_len, m[vi].value.start, &el);
	vn = scan_object(s, cat->raw_len, el[idx].start, &vm);
	ti = scan_find(s, vm, vn, "tested");
	ki = scan_find(s, vm, vn, "tag");

	json_t *intended = json_deep_copy(cat->root);
	json_t *v = json_array_get(json_object_get(json_object_get(intended, key), "versions"), idx);
	json_object_set_new(v, "tested", json_true());

	if (ti >= 0) {
		append_span(&b, s, 0, vm[ti].value.start);
		append_str(&b, "true");
		append_span(&b, s, vm[ti].value.end, cat->raw_len);
	} else {
		append_span(&b, s, 0, vm[ki].value.end);
		member_sep(&b, s, el[idx].start, vm, vn, (size_t)ki);
		append_str(&b, "\"tested\"");
		append_span(&b, s, vm[ki].key.end, vm[ki].value.start);
		append_str(&b, "true");
		append_span(&b, s, vm[ki].value.end, cat->raw_len);
	}
	return commit(cat, &b, intended, err);
}

int cat_set_number(struct cat_catalog *cat, const char *key, const char *field,
                   int value, oci_error *err)
{
	_cleanup_free_ struct scan_member *m = NULL;
	_cleanup_buf_ struct oci_buf b = { 0 };
	_cleanup_free_ char *num = NULL;
	const char *s = cat->raw;
	struct cat_image *img;
	size_t n;
	long fi, after = -1;

	if (strcmp(field, "minDiskSizeGb") != 0 && strcmp(field, "dockerSizeGb") != 0)
		return oci_err(err, OCI_E_USAGE, "%s is not a size field of the catalog", field);
	if (value < 0)
		return oci_err(err, OCI_E_USAGE, "%s must not be negative", field);
	if (entry_members(cat, key, &img, &m, &n, err) < 0)
		return -1;
	if (n == 0)
		return oci_err(err, OCI_E_USAGE, "%s: entry %s is empty", cat->path, key);
	num = oci_xasprintf("%d", value);
	fi = scan_find(s, m, n, field);
	json_t *v = json_object_get(img->json, field);
	if (fi >= 0 && json_is_number(v) && json_number_value(v) == value)
		return 0;

	json_t *intended = json_deep_copy(cat->root);
	json_object_set_new(json_object_get(intended, key), field, json_integer(value));

	if (fi >= 0) {
		append_span(&b, s, 0, m[fi].value.start);
		append_str(&b, num);
		append_span(&b, s, m[fi].value.end, cat->raw_len);
	} else {
		if (strcmp(field, "dockerSizeGb") == 0)
			after = scan_find(s, m, n, "minDiskSizeGb");
		if (after < 0)
			after = scan_find(s, m, n, "package");
		if (after < 0)
			after = (long)n - 1;
		_cleanup_free_ char *qk = quoted(field);
		append_span(&b, s, 0, m[after].value.end);
		member_sep(&b, s, img->raw_off, m, n, (size_t)after);
		append_str(&b, qk);
		append_span(&b, s, m[after].key.end, m[after].value.start);
		append_str(&b, num);
		append_span(&b, s, m[after].value.end, cat->raw_len);
	}
	return commit(cat, &b, intended, err);
}
