/* catalog/catalog.c: load images.json, resolve images and tags, lint. */
#include "catalog/catalog.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "catalog/scan.h"
#include "oci/cleanup.h"
#include "oci/platform.h"
#include "oci/util.h"

static const char *str_or_null(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int int_or_absent(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);
	double d = json_number_value(v);

	if (!json_is_number(v))
		return -1;
	return d < 0 ? -1 : d > INT_MAX ? INT_MAX : (int)d;
}

/* 1-based line of a byte offset. */
static int line_of(const struct cat_catalog *cat, size_t off)
{
	size_t lo = 0, hi = cat->n_lines;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (cat->line_starts[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return (int)lo + 1;
}

static void index_lines(struct cat_catalog *cat)
{
	size_t cap = 64;

	cat->line_starts = oci_xmalloc(cap * sizeof *cat->line_starts);
	cat->line_starts[cat->n_lines++] = 0;
	for (size_t i = 0; i < cat->raw_len; i++) {
		if (cat->raw[i] != '\n')
			continue;
		if (cat->n_lines == cap)
			cat->line_starts = oci_xrealloc(cat->line_starts,
			                                (cap *= 2) * sizeof *cat->line_starts);
		cat->line_starts[cat->n_lines++] = i + 1;
	}
}

static void strv_add(char ***v, size_t *n, const char *s)
{
	*v = oci_xrealloc(*v, (*n + 2) * sizeof **v);
	(*v)[(*n)++] = oci_xstrdup(s);
	(*v)[*n] = NULL;
}

static void describe_arches(struct cat_image *img)
{
	json_t *arch = json_object_get(img->json, "arch");
	json_t *el;
	size_t i;

	if (json_is_string(arch)) {
		strv_add(&img->arches, &img->n_arches, json_string_value(arch));
	} else if (json_is_array(arch)) {
		json_array_foreach(arch, i, el)
			if (json_is_string(el))
				strv_add(&img->arches, &img->n_arches, json_string_value(el));
	} else {
		strv_add(&img->arches, &img->n_arches, "x86_64");
		if (!img->gpu)
			strv_add(&img->arches, &img->n_arches, "arm64");
	}
	if (!img->arches)
		img->arches = oci_xcalloc(1, sizeof *img->arches);
}

static void describe_versions(struct cat_catalog *cat, struct cat_image *img,
                              const struct scan_member *m, size_t nm)
{
	json_t *arr = json_object_get(img->json, "versions");
	long vi = scan_find(cat->raw, m, nm, "versions");
	_cleanup_free_ struct scan_span *el = NULL;
	size_t n;

	if (!json_is_array(arr) || vi < 0)
		return;
	n = scan_array(cat->raw, cat->raw_len, m[vi].value.start, &el);
	img->versions = oci_xcalloc(n, sizeof *img->versions);
	img->n_versions = n;
	for (size_t i = 0; i < n; i++) {
		struct cat_version *v = &img->versions[i];
		json_t *j = json_array_get(arr, i);
		size_t at = el[i].start;

		v->json = j;
		v->tag = oci_xstrdup(str_or_null(j, "tag"));
		v->label = oci_xstrdup(str_or_null(j, "label"));
		v->version = oci_xstrdup(str_or_null(j, "version"));
		v->tested = json_is_true(json_object_get(j, "tested"));
		if (json_is_object(j)) {
			_cleanup_free_ struct scan_member *vm = NULL;
			size_t vn = scan_object(cat->raw, cat->raw_len, at, &vm);
			long t = scan_find(cat->raw, vm, vn, "tag");
			if (t >= 0)
				at = vm[t].key.start;
		}
		v->line = line_of(cat, at);
	}
}

static void describe(struct cat_catalog *cat)
{
	_cleanup_free_ struct scan_member *top = NULL;
	size_t i = 0;

	while (i < cat->raw_len && cat->raw[i] != '{')
		i++;
	cat->n_images = scan_object(cat->raw, cat->raw_len, i, &top);
	cat->images = oci_xcalloc(cat->n_images, sizeof *cat->images);
	for (size_t k = 0; k < cat->n_images; k++) {
		struct cat_image *img = &cat->images[k];
		_cleanup_free_ struct scan_member *m = NULL;
		size_t nm = 0;

		img->key = scan_key(cat->raw, top[k].key);
		img->json = json_object_get(cat->root, img->key);
		img->line = line_of(cat, top[k].key.start);
		img->raw_off = top[k].value.start;
		img->label = oci_xstrdup(str_or_null(img->json, "label"));
		img->package = oci_xstrdup(str_or_null(img->json, "package"));
		img->is_image = img->package && oci_path_valid(img->package);
		img->disabled = json_is_true(json_object_get(img->json, "disabled"));
		img->gpu = json_is_true(json_object_get(img->json, "gpu"));
		img->min_disk_gb = int_or_absent(img->json, "minDiskSizeGb");
		img->docker_size_gb = int_or_absent(img->json, "dockerSizeGb");
		describe_arches(img);
		if (json_is_object(img->json))
			nm = scan_object(cat->raw, cat->raw_len, img->raw_off, &m);
		describe_versions(cat, img, m, nm);
	}
}

int cat_load_buffer(const char *name, const char *data, size_t len,
                    struct cat_catalog **out, oci_error *err)
{
	struct cat_catalog *cat;
	json_error_t je;
	json_t *root;

	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return oci_err(err, OCI_E_USAGE, "%s:%d:%d: %s", name, je.line,
		               je.column, je.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return oci_err(err, OCI_E_USAGE, "%s: the catalog is not a JSON object", name);
	}
	cat = oci_xcalloc(1, sizeof *cat);
	cat->path = oci_xstrdup(name);
	cat->raw = oci_xmalloc(len + 1);
	memcpy(cat->raw, data, len);
	cat->raw[len] = '\0';
	cat->raw_len = len;
	cat->root = root;
	index_lines(cat);
	describe(cat);
	*out = cat;
	return 0;
}

int cat_load(const char *path, struct cat_catalog **out, oci_error *err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "rb");
	_cleanup_buf_ struct oci_buf b = { 0 };
	char chunk[65536];
	size_t n;

	if (!f)
		return oci_err(err, OCI_E_USAGE, "%s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		oci_buf_append(&b, chunk, n);
	if (ferror(f))
		return oci_err(err, OCI_E_USAGE, "%s: read error", path);
	return cat_load_buffer(path, b.data ? b.data : "", b.len, out, err);
}

void cat_free(struct cat_catalog *cat)
{
	if (!cat)
		return;
	for (size_t i = 0; i < cat->n_images; i++) {
		struct cat_image *img = &cat->images[i];
		for (size_t v = 0; v < img->n_versions; v++) {
			free(img->versions[v].tag);
			free(img->versions[v].label);
			free(img->versions[v].version);
		}
		free(img->versions);
		oci_strvfreep(&img->arches);
		free(img->key);
		free(img->label);
		free(img->package);
	}
	free(cat->images);
	free(cat->line_starts);
	json_decref(cat->root);
	free(cat->raw);
	free(cat->path);
	free(cat);
}

/* ---- resolution ---- */

struct cat_image *cat_image_find(const struct cat_catalog *cat, const char *key)
{
	for (size_t i = 0; i < cat->n_images; i++)
		if (strcmp(cat->images[i].key, key) == 0)
			return &cat->images[i];
	return NULL;
}

int cat_version_find(const struct cat_image *img, const char *tag, size_t *idx)
{
	int count = 0;

	for (size_t i = 0; i < img->n_versions; i++) {
		if (!img->versions[i].tag || strcmp(img->versions[i].tag, tag) != 0)
			continue;
		if (count++ == 0 && idx)
			*idx = i;
	}
	return count;
}

bool cat_image_has_arch(const struct cat_image *img, const char *catalog_arch)
{
	for (size_t i = 0; i < img->n_arches; i++)
		if (strcmp(img->arches[i], catalog_arch) == 0)
			return true;
	return false;
}

/* The one version with tag, or an error naming the image. */
static int one_version(const struct cat_image *img, const char *tag, size_t *idx,
                       oci_error *err)
{
	int n = cat_version_find(img, tag, idx);

	if (n == 0)
		return oci_err(err, OCI_E_USAGE, "%s has no version with tag \"%s\"",
		               img->key, tag);
	if (n > 1)
		return oci_err(err, OCI_E_USAGE, "%s has %d versions with tag \"%s\"",
		               img->key, n, tag);
	return 0;
}

int cat_parse_image_tag(const struct cat_catalog *cat, const char *arg,
                        struct cat_image **img, struct cat_version **ver,
                        oci_error *err)
{
	const char *colon = strchr(arg, ':');
	_cleanup_free_ char *key = colon ? oci_xstrndup(arg, colon - arg) : oci_xstrdup(arg);
	struct cat_image *found = cat_image_find(cat, key);
	size_t idx;

	if (!found)
		return oci_err(err, OCI_E_USAGE, "unknown catalog image \"%s\" in %s",
		               key, cat->path);
	if (!found->is_image) {
		if (found->package)
			return oci_err(err, OCI_E_USAGE,
			               "%s is not a container image (package \"%s\")",
			               key, found->package);
		return oci_err(err, OCI_E_USAGE, "%s is not a container image (no package)", key);
	}
	*img = found;
	*ver = NULL;
	if (!colon)
		return 0;
	if (one_version(found, colon + 1, &idx, err) < 0)
		return -1;
	*ver = &found->versions[idx];
	return 0;
}

static int make_ref(const struct cat_image *img, const char *suffix, const char *tag,
                    const char *registry, struct oci_ref *ref, oci_error *err)
{
	_cleanup_free_ char *path = NULL, *s = NULL;
	_cleanup_free_ char *library = NULL;

	if (!img->is_image)
		return oci_err(err, OCI_E_USAGE, "%s is not a container image", img->key);
	if (!registry || !*registry)
		registry = "docker.io";
	if (strchr(registry, '/'))
		return oci_err(err, OCI_E_USAGE, "invalid registry \"%s\"", registry);
	path = oci_xasprintf("%s%s", img->package, suffix);
	s = oci_xasprintf("%s/%s:%s", registry, path, tag);
	if (oci_ref_parse(ref, s, err) < 0)
		return oci_err_wrap(err, "%s", img->key);
	/* a registry the grammar does not take for a host became part of the path */
	library = oci_xasprintf("library/%s", path);
	if (strcmp(ref->path, path) != 0 && strcmp(ref->path, library) != 0) {
		oci_ref_release(ref);
		return oci_err(err, OCI_E_USAGE,
		               "invalid registry \"%s\": not a host name (add a port or a domain)",
		               registry);
	}
	return 0;
}

int cat_source_ref(const struct cat_image *img, const char *catalog_arch,
                   const char *tag, const char *registry, struct oci_ref *ref,
                   oci_error *err)
{
	_cleanup_free_ char *suffix = NULL;

	if (!cat_arch_to_oci(catalog_arch))
		return oci_err(err, OCI_E_USAGE, "%s: unknown arch \"%s\"", img->key, catalog_arch);
	suffix = oci_xasprintf("-%s", catalog_arch);
	return make_ref(img, suffix, tag, registry, ref, err);
}

int cat_target_ref(const struct cat_image *img, const char *tag,
                   const char *registry, struct oci_ref *ref, oci_error *err)
{
	return make_ref(img, "", tag, registry, ref, err);
}

int cat_target_init(struct cat_target *t, const struct cat_image *img, const char *tag,
                    const char *registry, char *const *arches, oci_error *err)
{
	struct oci_ref src = { 0 };

	memset(t, 0, sizeof *t);
	if (!arches)
		arches = img->arches;
	while (arches[t->n])
		t->n++;
	t->key = oci_xstrdup(img->key);
	t->tag = oci_xstrdup(tag);
	t->single_arch = !cat_image_multiarch(img);
	t->arches = oci_xcalloc(t->n + 1, sizeof *t->arches);
	t->sources = oci_xcalloc(t->n + 1, sizeof *t->sources);
	t->want = oci_xcalloc(t->n + 1, sizeof *t->want);
	if (cat_target_ref(img, tag, registry, &t->ref, err) < 0)
		goto fail;
	t->reference = oci_ref_string(&t->ref);
	for (size_t i = 0; i < t->n; i++) {
		const char *oci_arch = cat_arch_to_oci(arches[i]);
		if (!oci_arch) {
			oci_err(err, OCI_E_USAGE, "%s: unknown arch \"%s\"", img->key, arches[i]);
			goto fail;
		}
		if (cat_source_ref(img, arches[i], tag, registry, &src, err) < 0)
			goto fail;
		t->sources[i] = oci_ref_string(&src);
		oci_ref_release(&src);
		t->arches[i] = oci_xstrdup(arches[i]);
		oci_platform_set(&t->want[i], "linux", oci_arch, NULL);
	}
	return 0;
fail:
	cat_target_release(t);
	return -1;
}

void cat_target_release(struct cat_target *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->arches[i]);
		free(t->sources[i]);
		oci_platform_release(&t->want[i]);
	}
	free(t->arches);
	free(t->sources);
	free(t->want);
	oci_ref_release(&t->ref);
	free(t->reference);
	free(t->key);
	free(t->tag);
	memset(t, 0, sizeof *t);
}

/* Every spelling ccreg takes: the catalog's name, the OCI one, and whether
 * the catalog itself may say it. */
static const struct {
	const char *name, *catalog, *oci;
	bool in_catalog;
} arch_names[] = {
	{ "x86_64", "x86_64", "amd64", true },  { "amd64", "x86_64", "amd64", true },
	{ "x86-64", "x86_64", "amd64", false }, { "arm64", "arm64", "arm64", true },
	{ "aarch64", "arm64", "arm64", true },
};

const char *cat_arch_to_oci(const char *catalog_arch)
{
	for (size_t i = 0; catalog_arch && i < ARRAY_SIZE(arch_names); i++)
		if (arch_names[i].in_catalog && !strcmp(arch_names[i].name, catalog_arch))
			return arch_names[i].oci;
	return NULL;
}

const char *cat_arch_from_oci(const char *arch)
{
	for (size_t i = 0; arch && i < ARRAY_SIZE(arch_names); i++)
		if (!strcmp(arch_names[i].name, arch))
			return arch_names[i].catalog;
	return NULL;
}

const char *cat_last_tag(const struct cat_image *img)
{
	return img->n_versions ? img->versions[img->n_versions - 1].tag : NULL;
}

int cat_version_of(const struct cat_image *img, const char *tag, const char **out,
                   oci_error *err)
{
	const struct cat_version *v;
	size_t idx;

	if (tag) {
		if (one_version(img, tag, &idx, err) < 0)
			return -1;
		v = &img->versions[idx];
	} else {
		if (!img->n_versions)
			return oci_err(err, OCI_E_USAGE, "%s has no versions", img->key);
		v = &img->versions[img->n_versions - 1];
	}
	*out = v->version ? v->version : v->tag;
	if (!*out)
		return oci_err(err, OCI_E_USAGE, "%s: version on line %d has neither version nor tag",
		               img->key, v->line);
	return 0;
}

int cat_vercmp(const char *a, const char *b)
{
	for (;;) {
		while (*a && !isalnum((unsigned char)*a))
			a++;
		while (*b && !isalnum((unsigned char)*b))
			b++;
		if (!*a || !*b)
			break;
		const char *sa = a, *sb = b;
		bool num = isdigit((unsigned char)*a);
		int (*cls)(int) = num ? isdigit : isalpha;
		while (*a && cls((unsigned char)*a))
			a++;
		while (*b && cls((unsigned char)*b))
			b++;
		if (sb == b) /* number against letters: the number is newer */
			return num ? 1 : -1;
		size_t la = a - sa, lb = b - sb;
		if (num) {
			while (la > 1 && *sa == '0')
				sa++, la--;
			while (lb > 1 && *sb == '0')
				sb++, lb--;
			if (la != lb)
				return la < lb ? -1 : 1;
		}
		int c = memcmp(sa, sb, la < lb ? la : lb);
		if (c)
			return c < 0 ? -1 : 1;
		if (la != lb)
			return la < lb ? -1 : 1;
	}
	if (!*a && !*b)
		return 0;
	return *a ? 1 : -1;
}

/* ---- lint ---- */

struct problems {
	char **v;
	size_t n;
};

static void problem(struct problems *p, const struct cat_catalog *cat, int line,
                    const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void problem(struct problems *p, const struct cat_catalog *cat, int line,
                    const char *key, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL, *full = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	full = oci_xasprintf("%s:%d: %s: %s", cat->path, line, key, msg ? msg : "?");
	strv_add(&p->v, &p->n, full);
}

/* Line of field `name` of the entry (its key line when absent). */
static int field_line(const struct cat_catalog *cat, const struct cat_image *img,
                      const char *name)
{
	_cleanup_free_ struct scan_member *m = NULL;
	size_t n;
	long i;

	if (!json_is_object(img->json))
		return img->line;
	n = scan_object(cat->raw, cat->raw_len, img->raw_off, &m);
	i = scan_find(cat->raw, m, n, name);
	return i < 0 ? img->line : line_of(cat, m[i].key.start);
}

static void lint_repository(struct problems *p, const struct cat_catalog *cat,
                            const struct cat_image *img)
{
	int line = field_line(cat, img, "package");
	const char *last;

	if (!img->package) {
		if (json_object_get(img->json, "package"))
			problem(p, cat, line, img->key, "package is not a string");
		return;
	}
	if (img->package[0] == '@')
		return; /* an npm package, not ours to judge */
	if (!img->is_image) {
		problem(p, cat, line, img->key, "package \"%s\" is not a valid repository name",
		        img->package);
		return;
	}
	last = strrchr(img->package, '/');
	last = last ? last + 1 : img->package;
	if (strlen(last) == 1)
		problem(p, cat, line, img->key,
		        "repository name \"%s\" is one character (Docker Hub needs at least two)",
		        img->package);
	if (cat_image_multiarch(img)) {
		for (size_t i = 0; i < img->n_arches; i++) {
			_cleanup_free_ char *src = oci_xasprintf("%s-%s", img->package, img->arches[i]);
			if (cat_arch_to_oci(img->arches[i]) && !oci_path_valid(src))
				problem(p, cat, line, img->key,
				        "per-arch repository \"%s\" is not a valid name", src);
		}
	}
}

static void lint_arches(struct problems *p, const struct cat_catalog *cat,
                        const struct cat_image *img)
{
	json_t *arch = json_object_get(img->json, "arch");
	int line = field_line(cat, img, "arch");
	json_t *el;
	size_t i;

	if (arch && !json_is_string(arch) && !json_is_array(arch))
		problem(p, cat, line, img->key, "arch must be a string or an array of strings");
	if (json_is_array(arch))
		json_array_foreach(arch, i, el)
			if (!json_is_string(el))
				problem(p, cat, line, img->key, "arch element %zu is not a string", i + 1);
	if (img->n_arches == 0)
		problem(p, cat, line, img->key, "no arch");
	for (i = 0; i < img->n_arches; i++) {
		if (!cat_arch_to_oci(img->arches[i]))
			problem(p, cat, line, img->key, "unknown arch \"%s\" (known: x86_64, arm64)",
			        img->arches[i]);
		for (size_t j = 0; j < i; j++)
			if (strcmp(img->arches[i], img->arches[j]) == 0)
				problem(p, cat, line, img->key, "arch \"%s\" listed twice",
				        img->arches[i]);
	}
}

static void lint_sizes(struct problems *p, const struct cat_catalog *cat,
                       const struct cat_image *img)
{
	static const char *const fields[] = { "minDiskSizeGb", "dockerSizeGb" };

	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		json_t *v = json_object_get(img->json, fields[i]);
		if (v && (!json_is_number(v) || json_number_value(v) < 0))
			problem(p, cat, field_line(cat, img, fields[i]), img->key,
			        "%s is not a non-negative number", fields[i]);
	}
	if (img->min_disk_gb >= 0 && img->docker_size_gb >= 0 &&
	    img->min_disk_gb < img->docker_size_gb)
		problem(p, cat, field_line(cat, img, "minDiskSizeGb"), img->key,
		        "minDiskSizeGb %d is below dockerSizeGb %d", img->min_disk_gb,
		        img->docker_size_gb);
}

static void lint_versions(struct problems *p, const struct cat_catalog *cat,
                          const struct cat_image *img)
{
	json_t *arr = json_object_get(img->json, "versions");
	const char *prev = NULL;

	if (arr && !json_is_array(arr)) {
		problem(p, cat, field_line(cat, img, "versions"), img->key,
		        "versions is not an array");
		return;
	}
	for (size_t i = 0; i < img->n_versions; i++) {
		const struct cat_version *v = &img->versions[i];
		const char *cur;

		if (!json_is_object(v->json)) {
			problem(p, cat, v->line, img->key, "version %zu is not an object", i + 1);
			continue;
		}
		bool dup = false;
		if (!v->tag) {
			problem(p, cat, v->line, img->key, "version %zu has no tag", i + 1);
		} else {
			if (!oci_tag_valid(v->tag))
				problem(p, cat, v->line, img->key, "invalid tag \"%s\"", v->tag);
			for (size_t j = 0; j < i && !dup; j++)
				if (img->versions[j].tag && strcmp(img->versions[j].tag, v->tag) == 0) {
					problem(p, cat, v->line, img->key,
					        "duplicate tag \"%s\" (also on line %d)", v->tag,
					        img->versions[j].line);
					dup = true;
				}
		}
		json_t *t = json_object_get(v->json, "tested");
		if (t && !json_is_boolean(t))
			problem(p, cat, v->line, img->key, "\"tested\" of %s is not true or false",
			        v->tag ? v->tag : "a version");
		cur = v->version ? v->version : v->tag;
		if (!cur || dup) /* a duplicate is reported once, as such */
			continue;
		if (prev && cat_vercmp(cur, prev) < 0)
			problem(p, cat, v->line, img->key,
			        "versions out of order: \"%s\" comes after \"%s\"", cur, prev);
		prev = cur;
	}
}

int cat_lint(const struct cat_catalog *cat, char ***out)
{
	struct problems p = { 0 };

	for (size_t i = 0; i < cat->n_images; i++) {
		const struct cat_image *img = &cat->images[i];

		if (!json_is_object(img->json)) {
			problem(&p, cat, img->line, img->key, "entry is not an object");
			continue;
		}
		lint_repository(&p, cat, img);
		if (!img->is_image)
			continue;
		lint_arches(&p, cat, img);
		lint_sizes(&p, cat, img);
		lint_versions(&p, cat, img);
	}
	if (!p.v)
		p.v = oci_xcalloc(1, sizeof *p.v);
	*out = p.v;
	return (int)p.n;
}
