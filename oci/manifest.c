#include "oci/manifest.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "oci/cleanup.h"
#include "oci/digest.h"
#include "oci/mediatype.h"
#include "oci/util.h"

/* Manifests and configs larger than this are refused, as registries do. */
#define DOC_MAX ((size_t)4 << 20)

#define ANY_TYPE (-1)

/* One JSON field: its name, expected type, whether it must be present, and
 * the handler storing it at `offset` inside the target struct. */
struct field {
	const char *name;
	int type;
	bool mandatory;
	int (*fn)(json_t *v, void *base, const struct field *f, oci_error *err);
	size_t offset;
};

#define AT(base, f, T) ((T *)((char *)(base) + (f)->offset))

static const char *type_name(int t)
{
	switch (t) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static int parse_fields(json_t *obj, const struct field *tab, size_t n, void *base,
                        json_t **extra, oci_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct field *f = &tab[i];
		json_t *v = json_object_get(obj, f->name);
		if (!v || json_is_null(v)) {
			if (f->mandatory)
				return oci_err(err, OCI_E_REGISTRY, "missing field \"%s\"", f->name);
			continue;
		}
		if (f->type != ANY_TYPE && (int)json_typeof(v) != f->type)
			return oci_err(err, OCI_E_REGISTRY, "field \"%s\" must be %s, not %s",
			               f->name, type_name(f->type), type_name(json_typeof(v)));
		if (f->fn && f->fn(v, base, f, err) < 0)
			return -1;
	}
	if (!extra)
		return 0;
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		bool known = false;
		for (size_t i = 0; i < n && !known; i++)
			known = strcmp(key, tab[i].name) == 0;
		if (known)
			continue;
		if (!*extra)
			*extra = json_object();
		json_object_set(*extra, key, v);
	}
	return 0;
}

static int h_str(json_t *v, void *base, const struct field *f, oci_error *err)
{
	char **dst = AT(base, f, char *);
	free(*dst);
	*dst = oci_xstrdup(json_string_value(v));
	return 0;
}

static int h_digest(json_t *v, void *base, const struct field *f, oci_error *err)
{
	if (oci_digest_validate(json_string_value(v), err) < 0)
		return -1;
	return h_str(v, base, f, err);
}

static int h_size(json_t *v, void *base, const struct field *f, oci_error *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return oci_err(err, OCI_E_REGISTRY, "field \"%s\" must be a non-negative integer",
		               f->name);
	if (json_integer_value(v) > OCI_SIZE_MAX)
		return oci_err(err, OCI_E_REGISTRY, "field \"%s\": %lld bytes is more than any blob (2^50)",
		               f->name, (long long)json_integer_value(v));
	*AT(base, f, int64_t) = (int64_t)json_integer_value(v);
	return 0;
}

static int h_annotations(json_t *v, void *base, const struct field *f, oci_error *err)
{
	const char *key;
	json_t *val;
	json_object_foreach(v, key, val) {
		if (!json_is_string(val))
			return oci_err(err, OCI_E_REGISTRY, "annotation \"%.200s\" must be a string",
			               key);
	}
	json_t **dst = AT(base, f, json_t *);
	if (*dst)
		json_decref(*dst);
	*dst = json_object_size(v) ? json_incref(v) : NULL;
	return 0;
}

static int h_schema_version(json_t *v, void *base, const struct field *f, oci_error *err)
{
	if (!json_is_integer(v) || json_integer_value(v) != 2) {
		_cleanup_free_ char *s = json_dumps(v, JSON_ENCODE_ANY);
		return oci_err(err, OCI_E_REGISTRY, "unsupported schemaVersion %s (need 2)",
		               s ? s : "?");
	}
	return 0;
}

static const struct field platform_fields[] = {
	{ "architecture", JSON_STRING, true, h_str, offsetof(struct oci_platform, architecture) },
	{ "os", JSON_STRING, true, h_str, offsetof(struct oci_platform, os) },
	{ "os.version", JSON_STRING, false, h_str, offsetof(struct oci_platform, os_version) },
	{ "variant", JSON_STRING, false, h_str, offsetof(struct oci_platform, variant) },
	{ "os.features", JSON_ARRAY, false, NULL, 0 },
	{ "features", JSON_ARRAY, false, NULL, 0 },
};

static int h_platform(json_t *v, void *base, const struct field *f, oci_error *err)
{
	struct oci_platform t = { 0 };
	if (parse_fields(v, platform_fields, ARRAY_SIZE(platform_fields), &t, NULL, err) < 0) {
		oci_platform_release(&t);
		return oci_err_wrap(err, "platform");
	}
	struct oci_platform **dst = AT(base, f, struct oci_platform *);
	if (*dst) {
		oci_platform_release(*dst);
		free(*dst);
	}
	*dst = oci_xmalloc(sizeof t);
	**dst = t;
	return 0;
}

static const struct field descriptor_fields[] = {
	{ "mediaType", JSON_STRING, true, h_str, offsetof(struct oci_descriptor, media_type) },
	{ "digest", JSON_STRING, true, h_digest, offsetof(struct oci_descriptor, digest) },
	{ "size", ANY_TYPE, true, h_size, offsetof(struct oci_descriptor, size) },
	{ "platform", JSON_OBJECT, false, h_platform, offsetof(struct oci_descriptor, platform) },
	{ "artifactType", JSON_STRING, false, h_str,
	  offsetof(struct oci_descriptor, artifact_type) },
	{ "annotations", JSON_OBJECT, false, h_annotations,
	  offsetof(struct oci_descriptor, annotations) },
};

static int descriptor_parse(struct oci_descriptor *d, json_t *v, oci_error *err)
{
	struct oci_descriptor t = { 0 };
	if (!json_is_object(v))
		return oci_err(err, OCI_E_REGISTRY, "descriptor must be an object, not %s",
		               type_name(json_typeof(v)));
	if (parse_fields(v, descriptor_fields, ARRAY_SIZE(descriptor_fields), &t, &t.extra,
	                 err) < 0) {
		oci_descriptor_release(&t);
		return -1;
	}
	*d = t;
	return 0;
}

static int h_descriptor(json_t *v, void *base, const struct field *f, oci_error *err)
{
	struct oci_descriptor *d = AT(base, f, struct oci_descriptor);
	oci_descriptor_release(d);
	if (descriptor_parse(d, v, err) < 0)
		return oci_err_wrap(err, "%s", f->name);
	return 0;
}

/* An array of descriptors; the count lives right after the pointer in both
 * struct oci_manifest (layers, n_layers) and struct oci_index. */
static int descriptor_array(json_t *v, struct oci_descriptor **out, size_t *n_out,
                            const char *name, oci_error *err)
{
	size_t n = json_array_size(v);
	struct oci_descriptor *ds = oci_xcalloc(n, sizeof *ds);
	for (size_t i = 0; i < n; i++) {
		if (descriptor_parse(&ds[i], json_array_get(v, i), err) < 0) {
			for (size_t j = 0; j < i; j++)
				oci_descriptor_release(&ds[j]);
			free(ds);
			return oci_err_wrap(err, "%s[%zu]", name, i);
		}
	}
	*out = ds;
	*n_out = n;
	return 0;
}

static int h_layers(json_t *v, void *base, const struct field *f, oci_error *err)
{
	struct oci_manifest *m = base;
	return descriptor_array(v, &m->layers, &m->n_layers, f->name, err);
}

static int h_manifests(json_t *v, void *base, const struct field *f, oci_error *err)
{
	struct oci_index *ix = base;
	return descriptor_array(v, &ix->manifests, &ix->n_manifests, f->name, err);
}

static int h_mt_manifest(json_t *v, void *base, const struct field *f, oci_error *err)
{
	const char *mt = json_string_value(v);
	if (oci_mt_is_index(mt))
		return oci_err(err, OCI_E_REGISTRY,
		               "mediaType %.200s is an index, not an image manifest", mt);
	if (!oci_mt_is_manifest(mt))
		return oci_err(err, OCI_E_REGISTRY, "unsupported manifest mediaType %.200s", mt);
	return h_str(v, base, f, err);
}

static int h_mt_index(json_t *v, void *base, const struct field *f, oci_error *err)
{
	const char *mt = json_string_value(v);
	if (oci_mt_is_manifest(mt))
		return oci_err(err, OCI_E_REGISTRY,
		               "mediaType %.200s is an image manifest, not an index", mt);
	if (!oci_mt_is_index(mt))
		return oci_err(err, OCI_E_REGISTRY, "unsupported index mediaType %.200s", mt);
	return h_str(v, base, f, err);
}

static const struct field manifest_fields[] = {
	{ "schemaVersion", ANY_TYPE, true, h_schema_version, 0 },
	{ "mediaType", JSON_STRING, false, h_mt_manifest, offsetof(struct oci_manifest, media_type) },
	{ "artifactType", JSON_STRING, false, h_str, offsetof(struct oci_manifest, artifact_type) },
	{ "config", JSON_OBJECT, true, h_descriptor, offsetof(struct oci_manifest, config) },
	{ "layers", JSON_ARRAY, true, h_layers, 0 },
	{ "subject", JSON_OBJECT, false, h_descriptor, offsetof(struct oci_manifest, subject) },
	{ "annotations", JSON_OBJECT, false, h_annotations,
	  offsetof(struct oci_manifest, annotations) },
};

static const struct field index_fields[] = {
	{ "schemaVersion", ANY_TYPE, true, h_schema_version, 0 },
	{ "mediaType", JSON_STRING, false, h_mt_index, offsetof(struct oci_index, media_type) },
	{ "artifactType", JSON_STRING, false, h_str, offsetof(struct oci_index, artifact_type) },
	{ "manifests", JSON_ARRAY, true, h_manifests, 0 },
	{ "subject", JSON_OBJECT, false, h_descriptor, offsetof(struct oci_index, subject) },
	{ "annotations", JSON_OBJECT, false, h_annotations, offsetof(struct oci_index, annotations) },
};

static int h_diff_ids(json_t *v, void *base, const struct field *f, oci_error *err)
{
	struct oci_config *c = base;
	size_t n = json_array_size(v);
	char **ids = oci_xcalloc(n + 1, sizeof *ids);
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(v, i));
		if (!s) {
			oci_err(err, OCI_E_REGISTRY, "must be a string");
		} else if (oci_digest_validate(s, err) == 0) {
			ids[i] = oci_xstrdup(s);
			continue;
		}
		oci_strvfreep(&ids);
		return oci_err_wrap(err, "rootfs.diff_ids[%zu]", i);
	}
	c->diff_ids = ids;
	c->n_diff_ids = n;
	return 0;
}

static const struct field rootfs_fields[] = {
	{ "type", JSON_STRING, false, NULL, 0 },
	{ "diff_ids", JSON_ARRAY, false, h_diff_ids, 0 },
};

static int h_rootfs(json_t *v, void *base, const struct field *f, oci_error *err)
{
	return parse_fields(v, rootfs_fields, ARRAY_SIZE(rootfs_fields), base, NULL, err);
}

static const struct field config_fields[] = {
	{ "architecture", JSON_STRING, true, h_str,
	  offsetof(struct oci_config, platform.architecture) },
	{ "os", JSON_STRING, true, h_str, offsetof(struct oci_config, platform.os) },
	{ "os.version", JSON_STRING, false, h_str, offsetof(struct oci_config, platform.os_version) },
	{ "variant", JSON_STRING, false, h_str, offsetof(struct oci_config, platform.variant) },
	{ "created", JSON_STRING, false, h_str, offsetof(struct oci_config, created) },
	{ "rootfs", JSON_OBJECT, false, h_rootfs, 0 },
};

/* Loads a JSON object within the size cap; `what` names it in messages. */
static json_t *load(const void *buf, size_t len, const char *what, oci_error *err)
{
	if (len > DOC_MAX) {
		oci_err(err, OCI_E_REGISTRY, "%s is too large (%zu bytes, limit %zu)", what, len,
		        DOC_MAX);
		return NULL;
	}
	json_error_t je;
	json_t *root = json_loadb(buf, len, 0, &je);
	if (!root) {
		oci_err(err, OCI_E_REGISTRY, "%s is not valid JSON: %s at line %d column %d", what,
		        je.text, je.line, je.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		oci_err(err, OCI_E_REGISTRY, "%s is not a JSON object", what);
		json_decref(root);
		return NULL;
	}
	return root;
}

/* The manifest/index media type a Content-Type names, or NULL. */
static const char *ct_type(const char *ct)
{
	if (oci_mt_is_index(ct))
		return oci_mt_is_docker(ct) ? OCI_MT_DOCKER_LIST : OCI_MT_OCI_INDEX;
	if (oci_mt_is_manifest(ct))
		return oci_mt_is_docker(ct) ? OCI_MT_DOCKER_MANIFEST : OCI_MT_OCI_MANIFEST;
	return NULL;
}

/* Media type errors are data errors from wherever the document came from. */
static int fail(oci_error *err, const char *what)
{
	oci_err_wrap(err, "invalid %s", what);
	if (err)
		err->code = OCI_E_REGISTRY;
	return -1;
}

int oci_manifest_parse(struct oci_manifest *m, const void *buf, size_t len,
                       const char *content_type, oci_error *err)
{
	_cleanup_json_ json_t *root = load(buf, len, "manifest", err);
	if (!root)
		return -1;
	if (oci_mt_is_index(content_type))
		return oci_err(err, OCI_E_REGISTRY,
		               "invalid manifest: Content-Type %.200s is an index, not an image manifest",
		               content_type);
	struct oci_manifest t = { 0 };
	if (parse_fields(root, manifest_fields, ARRAY_SIZE(manifest_fields), &t, NULL, err) < 0) {
		oci_manifest_release(&t);
		return fail(err, "manifest");
	}
	if (!t.media_type) {
		const char *ct = ct_type(content_type);
		t.media_type = oci_xstrdup(ct ? ct : OCI_MT_OCI_MANIFEST);
	}
	*m = t;
	return 0;
}

int oci_index_parse(struct oci_index *ix, const void *buf, size_t len,
                    const char *content_type, oci_error *err)
{
	_cleanup_json_ json_t *root = load(buf, len, "manifest", err);
	if (!root)
		return -1;
	if (oci_mt_is_manifest(content_type))
		return oci_err(err, OCI_E_REGISTRY,
		               "invalid index: Content-Type %.200s is an image manifest, not an index",
		               content_type);
	struct oci_index t = { 0 };
	if (parse_fields(root, index_fields, ARRAY_SIZE(index_fields), &t, NULL, err) < 0) {
		oci_index_release(&t);
		return fail(err, "index");
	}
	if (!t.media_type) {
		const char *ct = ct_type(content_type);
		t.media_type = oci_xstrdup(ct ? ct : OCI_MT_OCI_INDEX);
	}
	*ix = t;
	return 0;
}

int oci_config_parse(struct oci_config *c, const void *buf, size_t len, oci_error *err)
{
	_cleanup_json_ json_t *root = load(buf, len, "image config", err);
	if (!root)
		return -1;
	struct oci_config t = { 0 };
	if (parse_fields(root, config_fields, ARRAY_SIZE(config_fields), &t, NULL, err) < 0) {
		oci_config_release(&t);
		return fail(err, "image config");
	}
	*c = t;
	return 0;
}

/* The kind a body's own mediaType names (*mt set), OCI_DOC_UNKNOWN when it
 * has none; -1 when it names something else. */
static int body_kind(json_t *root, const char **mt)
{
	json_t *v = json_object_get(root, "mediaType");
	if (!json_is_string(v))
		return OCI_DOC_UNKNOWN;
	*mt = json_string_value(v);
	if (oci_mt_is_index(*mt))
		return OCI_DOC_INDEX;
	if (oci_mt_is_manifest(*mt))
		return OCI_DOC_MANIFEST;
	return -1;
}

enum oci_doc_kind oci_doc_kind(const void *buf, size_t len, const char *content_type,
                               char **media_type, oci_error *err)
{
	const char *ct = ct_type(content_type);
	const char *mt = NULL;
	int kind;
	_cleanup_json_ json_t *root = load(buf, len, "manifest", err);

	if (!root)
		return OCI_DOC_UNKNOWN;
	/* The body is what the registry validates: its mediaType wins over a
	 * descriptor or Content-Type that says otherwise. */
	kind = body_kind(root, &mt);
	if (kind < 0) {
		oci_err(err, OCI_E_REGISTRY, "unsupported manifest mediaType %.200s", mt);
		return OCI_DOC_UNKNOWN;
	}
	if (kind != OCI_DOC_UNKNOWN)
		goto out;
	bool has_manifests = json_is_array(json_object_get(root, "manifests"));
	bool has_image = json_is_array(json_object_get(root, "layers")) ||
	                 json_is_object(json_object_get(root, "config"));
	if (ct && (oci_mt_is_index(ct) ? !has_image : !has_manifests)) {
		kind = oci_mt_is_index(ct) ? OCI_DOC_INDEX : OCI_DOC_MANIFEST;
		/* Docker's schema2 and list always carry mediaType: one without is OCI */
		mt = kind == OCI_DOC_INDEX ? OCI_MT_OCI_INDEX : OCI_MT_OCI_MANIFEST;
	} else if (has_manifests) {
		mt = OCI_MT_OCI_INDEX;
		kind = OCI_DOC_INDEX;
	} else if (has_image) {
		mt = OCI_MT_OCI_MANIFEST;
		kind = OCI_DOC_MANIFEST;
	} else {
		oci_err(err, OCI_E_REGISTRY, "document is neither an image manifest nor an index");
		return OCI_DOC_UNKNOWN;
	}
out:
	if (media_type)
		*media_type = oci_xstrdup(mt);
	return (enum oci_doc_kind)kind;
}

bool oci_doc_type_contradicts(const char *declared, const char *decided)
{
	if (!declared || !*declared || !decided)
		return false;
	const char *d = ct_type(declared);
	return d && strcmp(d, decided) != 0;
}

void oci_descriptor_release(struct oci_descriptor *d)
{
	if (!d)
		return;
	free(d->media_type);
	free(d->digest);
	if (d->platform) {
		oci_platform_release(d->platform);
		free(d->platform);
	}
	free(d->artifact_type);
	if (d->annotations)
		json_decref(d->annotations);
	if (d->extra)
		json_decref(d->extra);
	memset(d, 0, sizeof *d);
}

void oci_descriptor_copy(struct oci_descriptor *dst, const struct oci_descriptor *src)
{
	dst->media_type = oci_xstrdup(src->media_type);
	dst->digest = oci_xstrdup(src->digest);
	dst->size = src->size;
	dst->platform = NULL;
	if (src->platform) {
		dst->platform = oci_xcalloc(1, sizeof *dst->platform);
		oci_platform_copy(dst->platform, src->platform);
	}
	dst->artifact_type = oci_xstrdup(src->artifact_type);
	dst->annotations = src->annotations ? json_deep_copy(src->annotations) : NULL;
	dst->extra = src->extra ? json_deep_copy(src->extra) : NULL;
}

void oci_manifest_release(struct oci_manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	oci_descriptor_release(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		oci_descriptor_release(&m->layers[i]);
	free(m->layers);
	if (m->annotations)
		json_decref(m->annotations);
	free(m->artifact_type);
	oci_descriptor_release(&m->subject);
	memset(m, 0, sizeof *m);
}

void oci_index_release(struct oci_index *ix)
{
	if (!ix)
		return;
	free(ix->media_type);
	for (size_t i = 0; i < ix->n_manifests; i++)
		oci_descriptor_release(&ix->manifests[i]);
	free(ix->manifests);
	if (ix->annotations)
		json_decref(ix->annotations);
	free(ix->artifact_type);
	oci_descriptor_release(&ix->subject);
	memset(ix, 0, sizeof *ix);
}

void oci_config_release(struct oci_config *c)
{
	if (!c)
		return;
	oci_platform_release(&c->platform);
	oci_strvfreep(&c->diff_ids);
	free(c->created);
	memset(c, 0, sizeof *c);
}

void oci_config_copy(struct oci_config *dst, const struct oci_config *src)
{
	memset(dst, 0, sizeof *dst);
	oci_platform_copy(&dst->platform, &src->platform);
	dst->diff_ids = oci_xcalloc(src->n_diff_ids + 1, sizeof *dst->diff_ids);
	for (size_t i = 0; i < src->n_diff_ids; i++)
		dst->diff_ids[i] = oci_xstrdup(src->diff_ids[i]);
	dst->n_diff_ids = src->n_diff_ids;
	dst->created = oci_xstrdup(src->created);
}

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

json_t *oci_descriptor_to_json(const struct oci_descriptor *d)
{
	json_t *o = json_object();
	set_str(o, "mediaType", d->media_type);
	set_str(o, "digest", d->digest);
	json_object_set_new(o, "size", json_integer(d->size));
	if (d->platform) {
		json_t *p = json_object();
		set_str(p, "architecture", d->platform->architecture);
		set_str(p, "os", d->platform->os);
		set_str(p, "os.version", d->platform->os_version);
		set_str(p, "variant", d->platform->variant);
		json_object_set_new(o, "platform", p);
	}
	if (d->annotations && json_object_size(d->annotations))
		json_object_set(o, "annotations", d->annotations);
	set_str(o, "artifactType", d->artifact_type);
	const char *key;
	json_t *v;
	json_object_foreach(d->extra, key, v) {
		if (!json_object_get(o, key))
			json_object_set(o, key, v);
	}
	return o;
}

char *oci_index_serialize(const struct oci_index *ix, size_t *len)
{
	_cleanup_json_ json_t *root = json_object();
	json_object_set_new(root, "schemaVersion", json_integer(2));
	json_object_set_new(root, "mediaType",
	                    json_string(ix->media_type ? ix->media_type : OCI_MT_OCI_INDEX));
	json_t *arr = json_array();
	for (size_t i = 0; i < ix->n_manifests; i++)
		json_array_append_new(arr, oci_descriptor_to_json(&ix->manifests[i]));
	json_object_set_new(root, "manifests", arr);
	if (ix->annotations && json_object_size(ix->annotations))
		json_object_set(root, "annotations", ix->annotations);
	char *s = json_dumps(root, JSON_INDENT(3) | JSON_PRESERVE_ORDER);
	if (!s)
		abort(); /* only allocation failure makes this fail */
	if (len)
		*len = strlen(s);
	return s;
}

/* Docker's descriptor: distribution's struct order, mediaType, size, digest. */
static json_t *docker_descriptor(const struct oci_descriptor *d)
{
	json_t *o = json_object();
	json_object_set_new(o, "mediaType", json_string(d->media_type));
	json_object_set_new(o, "size", json_integer(d->size));
	json_object_set_new(o, "digest", json_string(d->digest));
	return o;
}

char *oci_manifest_serialize_docker(const struct oci_manifest *m, size_t *len)
{
	_cleanup_json_ json_t *root = json_object();
	json_object_set_new(root, "schemaVersion", json_integer(2));
	json_object_set_new(root, "mediaType", json_string(OCI_MT_DOCKER_MANIFEST));
	json_object_set_new(root, "config", docker_descriptor(&m->config));
	json_t *arr = json_array();
	for (size_t i = 0; i < m->n_layers; i++)
		json_array_append_new(arr, docker_descriptor(&m->layers[i]));
	json_object_set_new(root, "layers", arr);
	char *s = json_dumps(root, JSON_INDENT(3) | JSON_PRESERVE_ORDER);
	if (!s)
		abort(); /* only allocation failure makes this fail */
	if (len)
		*len = strlen(s);
	return s;
}

void oci_index_add(struct oci_index *ix, const struct oci_descriptor *d)
{
	ix->manifests = oci_xrealloc(ix->manifests, (ix->n_manifests + 1) * sizeof *ix->manifests);
	oci_descriptor_copy(&ix->manifests[ix->n_manifests], d);
	ix->n_manifests++;
}

const char *oci_descriptor_attests(const struct oci_descriptor *d)
{
	if (!d || !d->annotations)
		return NULL;
	const char *type = json_string_value(json_object_get(d->annotations,
	                                                     "vnd.docker.reference.type"));
	if (!type || strcmp(type, "attestation-manifest") != 0)
		return NULL;
	return json_string_value(json_object_get(d->annotations, "vnd.docker.reference.digest"));
}

int oci_index_select(const struct oci_index *ix, const struct oci_platform *want, oci_error *err)
{
	for (size_t i = 0; i < ix->n_manifests; i++) {
		const struct oci_descriptor *d = &ix->manifests[i];
		if (d->platform && !oci_descriptor_attests(d) && oci_platform_match(want, d->platform))
			return (int)i;
	}
	_cleanup_free_ char *w = oci_platform_string(want);
	_cleanup_free_ char *have = oci_index_platforms(ix);
	oci_err(err, OCI_E_REGISTRY, "no image for platform %s in the index (it has: %s)", w, have);
	return -1;
}

char *oci_index_platforms(const struct oci_index *ix)
{
	struct oci_buf have = { 0 };
	for (size_t i = 0; i < ix->n_manifests; i++) {
		const struct oci_descriptor *d = &ix->manifests[i];
		if (!d->platform || oci_descriptor_attests(d))
			continue;
		char *s = oci_platform_string(d->platform);
		if (have.len)
			oci_buf_append(&have, ", ", 2);
		oci_buf_append(&have, s, strlen(s));
		free(s);
	}
	return have.data ? have.data : oci_xstrdup("none");
}

bool oci_manifest_is_image(const struct oci_manifest *m)
{
	const char *cmt = m->config.media_type;
	if (m->artifact_type || !cmt)
		return false;
	_cleanup_free_ char *bare = oci_xstrndup(cmt, strcspn(cmt, "; "));
	return strcmp(bare, OCI_MT_OCI_CONFIG) == 0 || strcmp(bare, OCI_MT_DOCKER_CONFIG) == 0;
}

const char *oci_manifest_artifact_type(const struct oci_manifest *m)
{
	return m->artifact_type ? m->artifact_type : m->config.media_type;
}
