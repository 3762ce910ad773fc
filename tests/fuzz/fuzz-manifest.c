/* fuzz-manifest: manifests, indexes and image configs as a registry (or an
 * OCI layout, or a docker-archive) hands them over: oci_doc_kind,
 * oci_manifest_parse, oci_index_parse, oci_config_parse.
 *
 * Every input is parsed without a Content-Type and once more with one picked
 * by its first byte.  Property: an index that parses serializes
 * (oci_index_serialize) to a document that parses back to the same index,
 * and serializing that gives the same bytes.
 */
#include "fuzz.h"
#include "oci/cleanup.h"
#include "oci/mediatype.h"
#include "oci/manifest.h"
#include "oci/util.h"

static const char *const content_types[] = {
	NULL,
	OCI_MT_OCI_MANIFEST,
	OCI_MT_OCI_INDEX,
	OCI_MT_DOCKER_MANIFEST,
	OCI_MT_DOCKER_LIST,
	OCI_MT_OCI_INDEX "; charset=utf-8",
	"application/json",
	"text/plain",
	"",
};

static void check_descriptor(const struct oci_descriptor *d)
{
	json_t *j = oci_descriptor_to_json(d);
	FUZZ_ASSERT(j);
	json_decref(j);
	(void)oci_descriptor_attests(d);
	struct oci_descriptor copy = {0};
	oci_descriptor_copy(&copy, d);
	oci_descriptor_release(&copy);
}

static void index_round_trip(const struct oci_index *ix)
{
	size_t len = 0, len2 = 0;
	_cleanup_free_ char *s = oci_index_serialize(ix, &len);
	FUZZ_ASSERT(s && len == strlen(s));

	oci_error err = {0};
	struct oci_index back = {0};
	if (oci_index_parse(&back, s, len, NULL, &err) < 0) {
		fprintf(stderr, "re-parse failed: %s\n%s\n", err.msg, s);
		FUZZ_ASSERT(!"serialized index parses");
	}
	FUZZ_ASSERT(back.n_manifests == ix->n_manifests);
	for (size_t i = 0; i < ix->n_manifests; i++) {
		FUZZ_ASSERT(strcmp(back.manifests[i].digest, ix->manifests[i].digest) == 0);
		FUZZ_ASSERT(back.manifests[i].size == ix->manifests[i].size);
	}
	_cleanup_free_ char *s2 = oci_index_serialize(&back, &len2);
	FUZZ_ASSERT(len == len2 && memcmp(s, s2, len) == 0);
	oci_index_release(&back);
}

static void parse_all(const void *buf, size_t len, const char *ct)
{
	oci_error err = {0};
	_cleanup_free_ char *mt = NULL;
	enum oci_doc_kind kind = oci_doc_kind(buf, len, ct, &mt, &err);
	if (kind == OCI_DOC_UNKNOWN)
		FUZZ_ASSERT(err.msg[0]);
	else
		FUZZ_ASSERT(mt);

	struct oci_manifest m = {0};
	if (oci_manifest_parse(&m, buf, len, ct, &err) == 0) {
		FUZZ_ASSERT(m.media_type && m.config.digest);
		check_descriptor(&m.config);
		for (size_t i = 0; i < m.n_layers; i++)
			check_descriptor(&m.layers[i]);
	}
	oci_manifest_release(&m);
	FUZZ_ASSERT(!m.layers && !m.media_type);

	struct oci_index ix = {0};
	if (oci_index_parse(&ix, buf, len, ct, &err) == 0) {
		FUZZ_ASSERT(ix.media_type);
		for (size_t i = 0; i < ix.n_manifests; i++)
			check_descriptor(&ix.manifests[i]);
		index_round_trip(&ix);
	}
	oci_index_release(&ix);

	struct oci_config c = {0};
	if (oci_config_parse(&c, buf, len, &err) == 0) {
		for (size_t i = 0; i < c.n_diff_ids; i++)
			FUZZ_ASSERT(c.diff_ids[i]);
	}
	oci_config_release(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_all(data, size, NULL);
	if (size > 0)
		parse_all(data + 1, size - 1,
		          content_types[data[0] % ARRAY_SIZE(content_types)]);
	return 0;
}
