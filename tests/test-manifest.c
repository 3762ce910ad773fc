/* tests/test-manifest.c: manifests, indexes and configs over the fixtures in
 * tests/fixtures/manifests/ (run from tests/, as meson does). */
#include <stdlib.h>
#include <string.h>

#include "oci/cleanup.h"
#include "oci/digest.h"
#include "oci/manifest.h"
#include "oci/mediatype.h"
#include "oci/util.h"
#include "tests/tap.h"

#define DIR "fixtures/manifests/"

static char *slurp(const char *name, size_t *len)
{
	_cleanup_fclose_ FILE *f = fopen(name, "rb");
	struct oci_buf b = { 0 };
	char chunk[4096];
	size_t n;
	if (!f) {
		printf("# cannot open %s\n", name);
		*len = 0;
		return oci_xstrdup("");
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		oci_buf_append(&b, chunk, n);
	*len = b.len;
	return b.data ? b.data : oci_xstrdup("");
}

static void test_docker_manifest(void)
{
	size_t len;
	_cleanup_free_ char *buf = slurp(DIR "docker-manifest.json", &len);
	struct oci_manifest m = { 0 };
	oci_error err = { 0 };
	ok(oci_manifest_parse(&m, buf, len, OCI_MT_DOCKER_MANIFEST, &err) == 0,
	   "docker manifest parses %s", err.msg);
	is_str(m.media_type, OCI_MT_DOCKER_MANIFEST, "docker manifest media type");
	is_str(m.config.media_type, OCI_MT_DOCKER_CONFIG, "config media type");
	is_int(m.config.size, 1469, "config size");
	ok(oci_digest_validate(m.config.digest, NULL) == 0, "config digest valid");
	is_int(m.n_layers, 2, "two layers");
	is_int(m.layers[0].size, 29126484, "layer 0 size");
	is_int(oci_mt_compression(m.layers[0].media_type), OCI_COMP_GZIP, "layer gzip");
	ok(m.layers[0].extra == NULL && m.layers[0].platform == NULL, "no extras");
	ok(m.annotations == NULL && m.artifact_type == NULL, "no annotations");
	oci_manifest_release(&m);
	ok(m.layers == NULL && m.media_type == NULL && m.n_layers == 0, "release zeroes");
	oci_manifest_release(&m);

	ok(oci_manifest_parse(&m, buf, len, NULL, &err) == 0, "parses without Content-Type");
	is_str(m.media_type, OCI_MT_DOCKER_MANIFEST, "media type from the document");
	oci_manifest_release(&m);
	ok(oci_manifest_parse(&m, buf, len, "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8", &err) == 0,
	   "Content-Type parameters ignored");
	oci_manifest_release(&m);

	ok(oci_manifest_parse(&m, buf, len, OCI_MT_DOCKER_LIST, &err) == -1 &&
	           strstr(err.msg, "is an index"),
	   "index Content-Type refused for a manifest: %s", err.msg);
	struct oci_index ix = { 0 };
	ok(oci_index_parse(&ix, buf, len, NULL, &err) == -1 &&
	           strstr(err.msg, "is an image manifest, not an index") &&
	           err.code == OCI_E_REGISTRY,
	   "manifest refused as index: %s", err.msg);
	ok(ix.manifests == NULL && ix.media_type == NULL, "index untouched on failure");
}

static void test_oci_manifest(void)
{
	size_t len;
	_cleanup_free_ char *buf = slurp(DIR "oci-manifest.json", &len);
	struct oci_manifest m = { 0 };
	oci_error err = { 0 };
	ok(oci_manifest_parse(&m, buf, len, OCI_MT_OCI_MANIFEST, &err) == 0, "oci manifest parses %s",
	   err.msg);
	is_str(m.media_type, OCI_MT_OCI_MANIFEST, "oci media type");
	is_str(m.config.media_type, OCI_MT_OCI_CONFIG, "oci config media type");
	is_int(m.n_layers, 2, "two layers");
	is_int(oci_mt_compression(m.layers[1].media_type), OCI_COMP_ZSTD, "zstd layer");
	is_str(json_string_value(json_object_get(m.annotations, "org.opencontainers.image.created")),
	       "2024-03-01T12:05:00Z", "manifest annotation");
	is_str(json_string_value(json_object_get(m.layers[1].annotations,
	                                         "org.opencontainers.image.title")),
	       "extra.tar.zst", "layer annotation");
	json_t *urls = json_object_get(m.layers[1].extra, "urls");
	ok(json_is_array(urls) && json_array_size(urls) == 1, "unknown field urls kept in extra");
	is_int(json_object_size(m.layers[1].extra), 1, "only urls in extra");

	json_t *j = oci_descriptor_to_json(&m.layers[1]);
	_cleanup_free_ char *s = json_dumps(j, 0);
	json_decref(j);
	ok(s && strstr(s, "\"urls\": [\"https://example.com/layer-d\"]") &&
	           strstr(s, "\"annotations\"") < strstr(s, "\"urls\""),
	   "descriptor_to_json writes extras last: %s", s);

	struct oci_descriptor c = { 0 };
	oci_descriptor_copy(&c, &m.layers[1]);
	json_object_set_new(c.annotations, "x", json_string("y"));
	ok(json_object_get(m.layers[1].annotations, "x") == NULL, "descriptor copy is deep");
	oci_descriptor_release(&c);
	ok(c.digest == NULL && c.annotations == NULL, "descriptor release zeroes");
	oci_manifest_release(&m);

	_cleanup_free_ char *nomt = slurp(DIR "oci-manifest-no-mediatype.json", &len);
	ok(oci_manifest_parse(&m, nomt, len, NULL, &err) == 0, "manifest without mediaType");
	is_str(m.media_type, OCI_MT_OCI_MANIFEST, "defaults to the OCI manifest type");
	oci_manifest_release(&m);
	ok(oci_manifest_parse(&m, nomt, len, OCI_MT_DOCKER_MANIFEST, &err) == 0,
	   "manifest without mediaType, Docker Content-Type");
	is_str(m.media_type, OCI_MT_DOCKER_MANIFEST, "media type from the Content-Type");
	oci_manifest_release(&m);
	ok(oci_manifest_parse(&m, nomt, len, OCI_MT_OCI_INDEX, &err) == -1,
	   "manifest without mediaType, index Content-Type refused");
}

static void test_lists(void)
{
	size_t len;
	_cleanup_free_ char *buf = slurp(DIR "docker-list.json", &len);
	struct oci_index ix = { 0 };
	oci_error err = { 0 };
	ok(oci_index_parse(&ix, buf, len, OCI_MT_DOCKER_LIST, &err) == 0, "docker list parses %s",
	   err.msg);
	is_str(ix.media_type, OCI_MT_DOCKER_LIST, "list media type");
	is_int(ix.n_manifests, 2, "two manifests");
	ok(ix.manifests[0].platform && ix.manifests[1].platform, "platforms present");
	char *p0 = oci_platform_string(ix.manifests[0].platform);
	char *p1 = oci_platform_string(ix.manifests[1].platform);
	is_str(p0, "linux/amd64", "first platform");
	is_str(p1, "linux/arm64/v8", "second platform");
	free(p0);
	free(p1);
	ok(oci_descriptor_attests(&ix.manifests[0]) == NULL, "not an attestation");
	oci_index_release(&ix);
	struct oci_manifest m = { 0 };
	ok(oci_manifest_parse(&m, buf, len, NULL, &err) == -1 && strstr(err.msg, "is an index"),
	   "list refused as manifest: %s", err.msg);

	_cleanup_free_ char *att = slurp(DIR "oci-index-attest.json", &len);
	ok(oci_index_parse(&ix, att, len, NULL, &err) == 0, "oci index with attestations parses");
	is_str(ix.media_type, OCI_MT_OCI_INDEX, "oci index media type");
	is_int(ix.n_manifests, 4, "four entries");
	is_str(oci_descriptor_attests(&ix.manifests[2]), ix.manifests[0].digest,
	       "attestation 2 attests manifest 0");
	is_str(oci_descriptor_attests(&ix.manifests[3]), ix.manifests[1].digest,
	       "attestation 3 attests manifest 1");
	ok(oci_descriptor_attests(&ix.manifests[1]) == NULL, "image is not an attestation");
	is_str(ix.manifests[2].platform->os, "unknown", "attestation os unknown");
	is_str(ix.manifests[2].platform->architecture, "unknown", "attestation arch unknown");
	is_str(json_string_value(json_object_get(ix.annotations, "org.opencontainers.image.ref.name")),
	       "1.10.1", "index annotation");
	_cleanup_free_ char *plats = oci_index_platforms(&ix);
	is_str(plats, "linux/amd64, linux/arm64/v8", "platform list leaves attestations out");
	oci_index_release(&ix);
	_cleanup_free_ char *none = oci_index_platforms(&ix);
	is_str(none, "none", "an empty index lists no platform");

	_cleanup_free_ char *nomt = slurp(DIR "oci-index-no-mediatype.json", &len);
	ok(oci_index_parse(&ix, nomt, len, NULL, &err) == 0, "index without mediaType");
	is_str(ix.media_type, OCI_MT_OCI_INDEX, "defaults to the OCI index type");
	oci_index_release(&ix);
	ok(oci_index_parse(&ix, nomt, len, OCI_MT_DOCKER_MANIFEST, &err) == -1,
	   "index without mediaType, manifest Content-Type refused");
}

static void test_configs(void)
{
	size_t len;
	_cleanup_free_ char *buf = slurp(DIR "config-amd64.json", &len);
	struct oci_config c = { 0 };
	oci_error err = { 0 };
	ok(oci_config_parse(&c, buf, len, &err) == 0, "amd64 config parses %s", err.msg);
	char *p = oci_platform_string(&c.platform);
	is_str(p, "linux/amd64", "config platform");
	free(p);
	is_int(c.n_diff_ids, 2, "two diff_ids");
	ok(c.diff_ids && oci_digest_validate(c.diff_ids[1], NULL) == 0 && c.diff_ids[2] == NULL,
	   "diff_ids are digests, NULL-terminated");
	is_str(c.created, "2024-03-01T12:00:00.123456789Z", "created");
	oci_config_release(&c);
	ok(c.diff_ids == NULL && c.platform.os == NULL, "config release zeroes");

	_cleanup_free_ char *arm = slurp(DIR "config-arm64-v8.json", &len);
	ok(oci_config_parse(&c, arm, len, &err) == 0, "arm64 config parses");
	p = oci_platform_string(&c.platform);
	is_str(p, "linux/arm64/v8", "arm64 v8 platform");
	free(p);
	struct oci_platform want = { .os = "linux", .architecture = "arm64" };
	ok(oci_platform_match(&want, &c.platform), "linux/arm64 matches the v8 config");
	is_int(c.n_diff_ids, 1, "one diff_id");
	oci_config_release(&c);

	static const char *bad[] = {
		"[]", "{\"os\": \"linux\"}", "{\"os\": \"linux\", \"architecture\": 5}",
		"{\"os\": \"linux\", \"architecture\": \"amd64\", \"rootfs\": {\"diff_ids\": [\"sha256:abc\"]}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ok(oci_config_parse(&c, bad[i], strlen(bad[i]), &err) == -1, "bad config %s: %s",
		   bad[i], err.msg);
	}
	ok(strstr(err.msg, "rootfs.diff_ids[0]") && strstr(err.msg, "sha256 needs 64"),
	   "diff_id error names the entry");
}

static void bad_case(const char *file, int as_index, const char *want)
{
	size_t len;
	_cleanup_free_ char *buf = slurp(file, &len);
	oci_error err = { 0 };
	int r;
	if (as_index) {
		struct oci_index ix = { 0 };
		r = oci_index_parse(&ix, buf, len, NULL, &err);
		ok(r == -1 && ix.manifests == NULL, "%s refused", file);
	} else {
		struct oci_manifest m = { 0 };
		r = oci_manifest_parse(&m, buf, len, NULL, &err);
		ok(r == -1 && m.layers == NULL && m.config.digest == NULL, "%s refused", file);
	}
	ok(err.code == OCI_E_REGISTRY && strstr(err.msg, want), "%s: %s", file, err.msg);
}

static void test_bad(void)
{
	bad_case(DIR "bad-schema-version.json", 0, "unsupported schemaVersion 1 (need 2)");
	bad_case(DIR "bad-schema-version.json", 1, "unsupported schemaVersion 1");
	bad_case(DIR "bad-truncated.json", 0, "manifest is not valid JSON: ");
	bad_case(DIR "bad-truncated.json", 0, " at line ");
	bad_case(DIR "bad-mediatype-mismatch.json", 0,
	         "mediaType application/vnd.oci.image.index.v1+json is an index, not an image manifest");
	bad_case(DIR "bad-digest.json", 0, "layers[1]: invalid digest \"sha256:");
	bad_case(DIR "bad-digest.json", 0, "sha256 needs 64 hex characters");
	bad_case(DIR "bad-negative-size.json", 1, "manifests[0]: field \"size\" must be a non-negative integer");
	bad_case(DIR "bad-missing-config.json", 0, "missing field \"config\"");

	oci_error err = { 0 };
	struct oci_manifest m = { 0 };
	static const struct {
		const char *doc, *want;
	} inline_bad[] = {
		{ "", "not valid JSON" },
		{ "not json", "not valid JSON" },
		{ "[1]", "not a JSON object" },
		{ "{\"schemaVersion\": \"2\"}", "unsupported schemaVersion \"2\"" },
		{ "{\"schemaVersion\": 2, \"mediaType\": \"text/plain\", \"config\": {}, \"layers\": []}",
		  "unsupported manifest mediaType text/plain" },
		{ "{\"schemaVersion\": 2, \"config\": {\"mediaType\": \"x\", \"digest\": \"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\", \"size\": 1.5}, \"layers\": []}",
		  "config: field \"size\" must be a non-negative integer" },
		{ "{\"schemaVersion\": 2, \"config\": {\"digest\": \"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\", \"size\": 1}, \"layers\": []}",
		  "config: missing field \"mediaType\"" },
		{ "{\"schemaVersion\": 2, \"config\": {\"mediaType\": \"x\", \"digest\": \"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\", \"size\": 1}, \"layers\": {}}",
		  "field \"layers\" must be an array" },
		{ "{\"schemaVersion\": 2, \"config\": {\"mediaType\": \"x\", \"digest\": \"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\", \"size\": 1}, \"layers\": [5]}",
		  "layers[0]: descriptor must be an object" },
		{ "{\"schemaVersion\": 2, \"config\": {\"mediaType\": \"x\", \"digest\": \"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\", \"size\": 1, \"annotations\": {\"a\": 1}}, \"layers\": []}",
		  "annotation \"a\" must be a string" },
	};
	for (size_t i = 0; i < sizeof inline_bad / sizeof inline_bad[0]; i++) {
		int r = oci_manifest_parse(&m, inline_bad[i].doc, strlen(inline_bad[i].doc), NULL, &err);
		ok(r == -1 && strstr(err.msg, inline_bad[i].want), "bad manifest %zu: %s", i, err.msg);
	}

	/* size cap: 4 MiB + 1 byte of otherwise valid JSON */
	size_t big = ((size_t)4 << 20) + 1;
	char *huge = oci_xmalloc(big);
	memset(huge, ' ', big);
	memcpy(huge, "{}", 2);
	ok(oci_manifest_parse(&m, huge, big, NULL, &err) == -1 && strstr(err.msg, "too large"),
	   "oversized manifest refused: %s", err.msg);
	struct oci_config c = { 0 };
	ok(oci_config_parse(&c, huge, big, &err) == -1 && strstr(err.msg, "too large"),
	   "oversized config refused");
	free(huge);
}

static void test_doc_kind(void)
{
	size_t len;
	_cleanup_free_ char *man = slurp(DIR "docker-manifest.json", &len);
	size_t mlen = len;
	_cleanup_free_ char *list = slurp(DIR "docker-list.json", &len);
	size_t llen = len;
	_cleanup_free_ char *nomt_m = slurp(DIR "oci-manifest-no-mediatype.json", &len);
	size_t nmlen = len;
	_cleanup_free_ char *nomt_i = slurp(DIR "oci-index-no-mediatype.json", &len);
	size_t nilen = len;
	oci_error err = { 0 };
	char *mt = NULL;

	/* issue 16: the body's mediaType decides, a contradicting type is wrong */
	is_int(oci_doc_kind(man, mlen, OCI_MT_OCI_INDEX, &mt, &err), OCI_DOC_MANIFEST,
	       "the body's mediaType decides over the Content-Type");
	is_str(mt, OCI_MT_DOCKER_MANIFEST, "media type from the body");
	ok(oci_doc_type_contradicts(OCI_MT_OCI_INDEX, mt), "OCI index vs Docker body contradicts");
	free(mt);
	is_int(oci_doc_kind(man, mlen, OCI_MT_OCI_MANIFEST, &mt, &err), OCI_DOC_MANIFEST,
	       "a descriptor saying OCI over a Docker body");
	is_str(mt, OCI_MT_DOCKER_MANIFEST, "Docker, as the body says");
	ok(oci_doc_type_contradicts(OCI_MT_OCI_MANIFEST, mt), "OCI vs Docker contradicts");
	ok(!oci_doc_type_contradicts(OCI_MT_DOCKER_MANIFEST "; charset=utf-8", mt),
	   "the same type with parameters does not");
	ok(!oci_doc_type_contradicts("application/octet-stream", mt), "a generic type does not");
	ok(!oci_doc_type_contradicts(NULL, mt), "no declared type does not");
	free(mt);
	is_int(oci_doc_kind(list, llen, OCI_MT_DOCKER_MANIFEST "; charset=utf-8", &mt, &err),
	       OCI_DOC_INDEX, "Content-Type with parameters, overruled by the body");
	is_str(mt, OCI_MT_DOCKER_LIST, "the list's own type");
	free(mt);
	is_int(oci_doc_kind(nomt_i, nilen, OCI_MT_DOCKER_LIST, &mt, &err), OCI_DOC_INDEX,
	       "no mediaType, Docker list Content-Type: an index");
	is_str(mt, OCI_MT_OCI_INDEX, "OCI (a Docker list always says mediaType)");
	free(mt);
	is_int(oci_doc_kind(nomt_m, nmlen, OCI_MT_DOCKER_MANIFEST, &mt, &err), OCI_DOC_MANIFEST,
	       "no mediaType, Docker manifest Content-Type: a manifest");
	is_str(mt, OCI_MT_OCI_MANIFEST, "OCI (Docker schema2 always says mediaType)");
	free(mt);
	is_int(oci_doc_kind(nomt_m, nmlen, OCI_MT_OCI_INDEX, &mt, &err), OCI_DOC_MANIFEST,
	       "no mediaType, an index Content-Type over a manifest's shape: the shape");
	free(mt);
	is_int(oci_doc_kind(man, mlen, "application/json", &mt, &err), OCI_DOC_MANIFEST,
	       "generic Content-Type: mediaType field");
	is_str(mt, OCI_MT_DOCKER_MANIFEST, "media type from the field");
	free(mt);
	is_int(oci_doc_kind(list, llen, NULL, &mt, &err), OCI_DOC_INDEX, "list by field");
	is_str(mt, OCI_MT_DOCKER_LIST, "list media type from field");
	free(mt);
	is_int(oci_doc_kind(nomt_m, nmlen, NULL, &mt, &err), OCI_DOC_MANIFEST, "manifest by shape");
	is_str(mt, OCI_MT_OCI_MANIFEST, "shape gives the OCI manifest type");
	free(mt);
	is_int(oci_doc_kind(nomt_i, nilen, "application/octet-stream", &mt, &err), OCI_DOC_INDEX,
	       "index by shape");
	is_str(mt, OCI_MT_OCI_INDEX, "shape gives the OCI index type");
	free(mt);
	is_int(oci_doc_kind(nomt_i, nilen, NULL, NULL, &err), OCI_DOC_INDEX, "media_type may be NULL");
	mt = NULL;
	is_int(oci_doc_kind("{}", 2, NULL, &mt, &err), OCI_DOC_UNKNOWN, "empty object unknown");
	ok(mt == NULL && strstr(err.msg, "neither"), "unknown explains: %s", err.msg);
	is_int(oci_doc_kind("{\"mediaType\": \"text/plain\"}", 26, NULL, &mt, &err), OCI_DOC_UNKNOWN,
	       "unknown mediaType");
	is_int(oci_doc_kind("{", 1, NULL, &mt, &err), OCI_DOC_UNKNOWN, "invalid JSON unknown");
	ok(strstr(err.msg, "not valid JSON") != NULL, "invalid JSON explained");
}

static void test_serialize(void)
{
	size_t len;
	_cleanup_free_ char *canon = slurp(DIR "index-canonical.json", &len);
	struct oci_index ix = { 0 }, back = { 0 };
	oci_error err = { 0 };
	ok(oci_index_parse(&ix, canon, len, NULL, &err) == 0, "canonical index parses %s", err.msg);
	size_t slen = 0;
	_cleanup_free_ char *s = oci_index_serialize(&ix, &slen);
	is_int(slen, strlen(s), "length reported");
	ok(slen == len && memcmp(s, canon, len) == 0,
	   "serialize(parse(x)) == x byte for byte (key order, 3-space indent)");
	if (slen != len || memcmp(s, canon, len))
		printf("# got:\n%s\n", s);

	ok(oci_index_parse(&back, s, slen, NULL, &err) == 0, "serialized index parses back");
	is_int(back.n_manifests, ix.n_manifests, "same count");
	int same = back.n_manifests == ix.n_manifests;
	for (size_t i = 0; same && i < ix.n_manifests; i++) {
		const struct oci_descriptor *a = &ix.manifests[i], *b = &back.manifests[i];
		same = !strcmp(a->media_type, b->media_type) && !strcmp(a->digest, b->digest) &&
		       a->size == b->size && oci_platform_equal(a->platform, b->platform) &&
		       (!a->annotations == !b->annotations) &&
		       (!a->annotations || json_equal(a->annotations, b->annotations)) &&
		       (!a->extra == !b->extra) && (!a->extra || json_equal(a->extra, b->extra));
	}
	ok(same, "every descriptor equal after the round trip");
	is_str(back.manifests[2].platform->os_version, "10.0.17763.5458", "os.version kept");
	ok(json_is_array(json_object_get(back.manifests[2].extra, "urls")), "extra kept");
	oci_index_release(&back);

	/* an index ccreg builds: Docker list from descriptors */
	struct oci_index built = { .media_type = oci_xstrdup(OCI_MT_DOCKER_LIST) };
	oci_index_add(&built, &ix.manifests[0]);
	oci_index_add(&built, &ix.manifests[1]);
	oci_index_release(&ix);
	is_int(built.n_manifests, 2, "index_add appends copies");
	_cleanup_free_ char *bs = oci_index_serialize(&built, NULL);
	const char *want =
		"{\n"
		"   \"schemaVersion\": 2,\n"
		"   \"mediaType\": \"" OCI_MT_DOCKER_LIST "\",\n"
		"   \"manifests\": [\n"
		"      {\n"
		"         \"mediaType\": \"" OCI_MT_OCI_MANIFEST "\",\n";
	ok(strncmp(bs, want, strlen(want)) == 0, "built index starts as docker's does");
	ok(!strstr(bs, "annotations"), "no annotations key when there are none");
	ok(strstr(bs, "\"variant\": \"v8\"") != NULL, "variant serialized");
	ok(oci_index_parse(&back, bs, strlen(bs), OCI_MT_DOCKER_LIST, &err) == 0,
	   "built index parses back");
	is_str(back.media_type, OCI_MT_DOCKER_LIST, "media type kept");
	is_str(back.manifests[1].digest, built.manifests[1].digest, "digest kept");
	oci_index_release(&back);
	oci_index_release(&built);

	struct oci_index empty = { 0 };
	_cleanup_free_ char *es = oci_index_serialize(&empty, NULL);
	ok(strstr(es, "\"manifests\": []") && strstr(es, OCI_MT_OCI_INDEX), "empty index serializes");
}

static void test_serialize_docker(void)
{
	size_t len;
	_cleanup_free_ char *want = slurp(DIR "docker-manifest.json", &len);
	struct oci_manifest m = { 0 };
	oci_error err = { 0 };
	ok(oci_manifest_parse(&m, want, len, NULL, &err) == 0, "docker manifest parses %s", err.msg);
	size_t slen = 0;
	_cleanup_free_ char *s = oci_manifest_serialize_docker(&m, &slen);
	is_int(slen, strlen(s), "length reported");
	/* the fixture is what docker pushes, plus a final newline */
	ok(slen + 1 == len && memcmp(s, want, slen) == 0,
	   "serialize_docker(parse(x)) == x byte for byte (mediaType, size, digest; 3 spaces)");
	if (slen + 1 != len || memcmp(s, want, slen))
		printf("# got:\n%s\n", s);
	oci_manifest_release(&m);

	struct oci_manifest none = { .config = { .media_type = OCI_MT_DOCKER_CONFIG,
	                                          .digest = "sha256:00", .size = 2 } };
	_cleanup_free_ char *e = oci_manifest_serialize_docker(&none, NULL);
	ok(strstr(e, "\"layers\": []") && strstr(e, OCI_MT_DOCKER_MANIFEST),
	   "no layers: an empty array, the Docker type");
}

static void test_select(void)
{
	size_t len;
	_cleanup_free_ char *buf = slurp(DIR "oci-index-attest.json", &len);
	struct oci_index ix = { 0 };
	oci_error err = { 0 };
	ok(oci_index_parse(&ix, buf, len, NULL, &err) == 0, "attested index parses");
	static const struct { const char *want; int at; } cases[] = {
		{ "linux/amd64", 0 },
		{ "linux/arm64", 1 },
		{ "linux/arm64/v8", 1 },
		{ "arm64", 1 },
		{ "x86_64", 0 },
		{ "linux/arm/v7", -1 },
		{ "windows/amd64", -1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct oci_platform p = { 0 };
		oci_platform_parse(&p, cases[i].want, NULL);
		is_int(oci_index_select(&ix, &p, &err), cases[i].at, cases[i].want);
		oci_platform_release(&p);
	}
	struct oci_platform unk = { 0 };
	oci_platform_set(&unk, "unknown", "unknown", NULL);
	err = (oci_error){ 0 };
	is_int(oci_index_select(&ix, &unk, &err), -1, "an attestation never matches");
	is_int(err.code, OCI_E_REGISTRY, "a registry error");
	is_str(err.msg,
	       "no image for platform unknown/unknown in the index (it has: linux/amd64, linux/arm64/v8)",
	       "the message names the platform and what the index has");
	oci_platform_release(&unk);

	/* the first of two matches; an entry without a platform never matches */
	struct oci_index two = { 0 };
	struct oci_descriptor bare = ix.manifests[1];
	bare.platform = NULL;
	oci_index_add(&two, &bare);
	oci_index_add(&two, &ix.manifests[0]);
	oci_index_add(&two, &ix.manifests[0]);
	struct oci_platform amd = { 0 };
	oci_platform_set(&amd, "linux", "amd64", NULL);
	is_int(oci_index_select(&two, &amd, &err), 1, "the first matching entry");
	oci_platform_release(&amd);
	struct oci_platform arm = { 0 };
	oci_platform_set(&arm, "linux", "arm64", NULL);
	is_int(oci_index_select(&two, &arm, NULL), -1, "no platform: no match (err may be NULL)");
	oci_platform_release(&arm);
	oci_index_release(&two);
	oci_index_release(&ix);
}

static void test_mediatypes(void)
{
	ok(oci_mt_is_index(OCI_MT_OCI_INDEX) && oci_mt_is_index(OCI_MT_DOCKER_LIST), "is_index");
	ok(!oci_mt_is_index(OCI_MT_OCI_MANIFEST) && !oci_mt_is_index(NULL), "is_index negatives");
	ok(oci_mt_is_manifest(OCI_MT_OCI_MANIFEST) && oci_mt_is_manifest(OCI_MT_DOCKER_MANIFEST),
	   "is_manifest");
	ok(!oci_mt_is_manifest(OCI_MT_DOCKER_LIST) && !oci_mt_is_manifest(OCI_MT_OCI_MANIFEST "x"),
	   "is_manifest negatives");
	ok(oci_mt_is_docker(OCI_MT_DOCKER_CONFIG) && !oci_mt_is_docker(OCI_MT_OCI_CONFIG), "is_docker");
	ok(oci_mt_is_foreign(OCI_MT_DOCKER_LAYER_FOREIGN) && oci_mt_is_foreign(OCI_MT_OCI_LAYER_ND_GZIP) &&
	           !oci_mt_is_foreign(OCI_MT_OCI_LAYER_GZIP),
	   "is_foreign");
	is_int(oci_mt_compression(OCI_MT_OCI_LAYER), OCI_COMP_NONE, "tar uncompressed");
	is_int(oci_mt_compression(OCI_MT_OCI_LAYER_GZIP), OCI_COMP_GZIP, "oci gzip");
	is_int(oci_mt_compression(OCI_MT_DOCKER_LAYER_ZSTD), OCI_COMP_ZSTD, "docker zstd");
	is_int(oci_mt_compression(OCI_MT_OCI_LAYER_ND_ZSTD), OCI_COMP_ZSTD, "nondistributable zstd");
	is_int(oci_mt_compression("application/vnd.in-toto+json"), OCI_COMP_UNKNOWN, "unknown");
}

int main(void)
{
	test_docker_manifest();
	test_oci_manifest();
	test_lists();
	test_configs();
	test_bad();
	test_doc_kind();
	test_serialize();
	test_serialize_docker();
	test_select();
	test_mediatypes();
	return tap_done();
}
