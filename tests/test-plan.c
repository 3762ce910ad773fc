/* tests/test-plan.c: image walks and plans over OCI layouts built here (no
 * network): what each pick takes, attestations, configs fetched once,
 * nested indexes; plans in children-first order with each blob once, a
 * platform selection (one image, or a new index of several), and the
 * conversion of Docker types to OCI. */
#include <stdlib.h>
#include <string.h>

#include "oci/cleanup.h"
#include "oci/layout.h"
#include "oci/mediatype.h"
#include "registry/plan.h"
#include "tests/tap.h"

struct blob {
	char digest[OCI_DIGEST_MAX];
	int64_t size;
};

static const char *dir;

/* Store bytes as a blob of the layout. */
static struct blob put(const char *data, size_t len)
{
	struct blob b = { .size = (int64_t)len };
	oci_error err = { 0 };
	oci_digest_buf("sha256", data, len, b.digest);
	if (oci_layout_blob_put(dir, b.digest, data, len, &err) < 0)
		printf("# put: %s\n", err.msg);
	return b;
}

static struct blob put_str(const char *s)
{
	return put(s, strlen(s));
}

static struct blob put_json(json_t *j)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return put(s, strlen(s));
}

static json_t *desc(const char *mt, struct blob b)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", b.digest, "size",
	                 (json_int_t)b.size);
}

static json_t *with_platform(json_t *d, const char *os, const char *arch, const char *variant)
{
	json_t *p = json_pack("{s:s, s:s}", "architecture", arch, "os", os);
	if (variant)
		json_object_set_new(p, "variant", json_string(variant));
	json_object_set_new(d, "platform", p);
	return d;
}

static struct blob manifest(const char *mt, json_t *config, json_t *layers)
{
	return put_json(json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType", mt,
	                          "config", config, "layers", layers));
}

static struct blob index_of(const char *mt, json_t *manifests)
{
	return put_json(json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", mt,
	                          "manifests", manifests));
}

static void name(const char *ref, const char *mt, struct blob b)
{
	struct oci_descriptor d = { .media_type = (char *)mt, .digest = b.digest, .size = b.size };
	oci_error err = { 0 };
	if (oci_layout_set_ref(dir, ref, &d, &err) < 0)
		printf("# set_ref: %s\n", err.msg);
}

static struct blob config(const char *arch, const char *variant)
{
	json_t *c = json_pack("{s:s, s:s, s:{s:s, s:[]}}", "architecture", arch, "os", "linux",
	                      "rootfs", "type", "layers", "diff_ids");
	if (variant)
		json_object_set_new(c, "variant", json_string(variant));
	return put_json(c);
}

/* The images every test walks. */
static struct blob base, amd_layer, arm_layer, cfg_amd, cfg_arm, m_amd, m_arm, att_cfg, att_layer,
	att, multi, twins, inner, outer, d_cfg, d_layer, d_man, d_list;
static const char *foreign = "sha256:0123456789012345678901234567890123456789012345678901234567890123";

static void build(void)
{
	base = put_str("base");
	amd_layer = put_str("amd64 layer");
	arm_layer = put_str("arm64 layer");
	cfg_amd = config("amd64", NULL);
	cfg_arm = config("arm64", "v8");
	json_t *fl = json_pack("{s:s, s:s, s:i, s:[s]}", "mediaType", OCI_MT_OCI_LAYER_ND_GZIP,
	                       "digest", foreign, "size", 1000, "urls", "https://example.com/l");
	m_amd = manifest(OCI_MT_OCI_MANIFEST, desc(OCI_MT_OCI_CONFIG, cfg_amd),
	                 json_pack("[o, o, o]", desc(OCI_MT_OCI_LAYER_GZIP, base),
	                           desc(OCI_MT_OCI_LAYER_GZIP, amd_layer), fl));
	m_arm = manifest(OCI_MT_OCI_MANIFEST, desc(OCI_MT_OCI_CONFIG, cfg_arm),
	                 json_pack("[o, o]", desc(OCI_MT_OCI_LAYER_GZIP, base),
	                           desc(OCI_MT_OCI_LAYER_GZIP, arm_layer)));
	att_cfg = put_str("{}");
	att_layer = put_str("{\"_type\": \"statement\"}");
	att = manifest(OCI_MT_OCI_MANIFEST, desc("application/vnd.oci.image.config.v1+json", att_cfg),
	               json_pack("[o]", desc("application/vnd.in-toto+json", att_layer)));
	json_t *att_entry = with_platform(desc(OCI_MT_OCI_MANIFEST, att), "unknown", "unknown", NULL);
	json_object_set_new(att_entry, "annotations",
	                    json_pack("{s:s, s:s}", "vnd.docker.reference.digest", m_amd.digest,
	                              "vnd.docker.reference.type", "attestation-manifest"));
	multi = index_of(OCI_MT_OCI_INDEX,
	                 json_pack("[o, o, o]",
	                           with_platform(desc(OCI_MT_OCI_MANIFEST, m_amd), "linux", "amd64", NULL),
	                           with_platform(desc(OCI_MT_OCI_MANIFEST, m_arm), "linux", "arm64", "v8"),
	                           att_entry));
	twins = index_of(OCI_MT_OCI_INDEX,
	                 json_pack("[o, o]",
	                           with_platform(desc(OCI_MT_OCI_MANIFEST, m_amd), "linux", "amd64", NULL),
	                           with_platform(desc(OCI_MT_OCI_MANIFEST, m_amd), "linux", "amd64", "v2")));
	inner = index_of(OCI_MT_OCI_INDEX, json_pack("[o]", desc(OCI_MT_OCI_INDEX, multi)));
	outer = index_of(OCI_MT_OCI_INDEX, json_pack("[o]", desc(OCI_MT_OCI_INDEX, inner)));
	struct blob deep = outer; /* 10 indexes: past the walk's 8 levels */
	for (int i = 0; i < 7; i++)
		deep = index_of(OCI_MT_OCI_INDEX, json_pack("[o]", desc(OCI_MT_OCI_INDEX, deep)));

	d_cfg = put_str("{\"architecture\": \"arm64\", \"os\": \"linux\"}");
	d_layer = put_str("docker layer");
	json_t *dfl = json_pack("{s:s, s:s, s:i}", "mediaType", OCI_MT_DOCKER_LAYER_FOREIGN,
	                        "digest", foreign, "size", 1000);
	d_man = manifest(OCI_MT_DOCKER_MANIFEST, desc(OCI_MT_DOCKER_CONFIG, d_cfg),
	                 json_pack("[o, o]", desc(OCI_MT_DOCKER_LAYER_GZIP, d_layer), dfl));
	d_list = index_of(OCI_MT_DOCKER_LIST,
	                  json_pack("[o]", with_platform(desc(OCI_MT_DOCKER_MANIFEST, d_man), "linux",
	                                                 "arm64", "v8")));

	name("amd", OCI_MT_OCI_MANIFEST, m_amd);
	name("multi", OCI_MT_OCI_INDEX, multi);
	name("twins", OCI_MT_OCI_INDEX, twins);
	name("nested", OCI_MT_OCI_INDEX, outer);
	name("deep", OCI_MT_OCI_INDEX, deep);
	name("docker", OCI_MT_DOCKER_LIST, d_list);
}

static struct oci_layout layout;

static struct reg_walk_source src(void)
{
	return (struct reg_walk_source){ .layout = &layout };
}

static struct oci_platform plat(const char *s)
{
	struct oci_platform p = { 0 };
	oci_platform_parse(&p, s, NULL);
	return p;
}

/* --- walks ------------------------------------------------------------------------ */

static int config_calls;

static int counting_config(void *ud, struct reg_repo *r, const struct oci_descriptor *d,
                           struct oci_config *out, oci_error *err)
{
	struct oci_buf b = { 0 };
	config_calls++;
	int rc = oci_layout_blob_read(ud, d->digest, 1 << 20, &b, err);
	if (rc == 0)
		rc = oci_config_parse(out, b.data, b.len, err);
	oci_buf_release(&b);
	(void)r;
	return rc;
}

static void test_walks(void)
{
	struct reg_walk_source s = src();
	struct reg_walk w;
	oci_error err = { 0 };
	size_t n;

	struct reg_walk_opts all = { .pick = REG_PICK_ALL };
	ok(reg_walk(&s, "multi", &all, &w, &err) == 0, "walk every entry: %s", err.msg);
	is_int(w.top.kind, OCI_DOC_INDEX, "the top is an index");
	is_str(w.top.raw.digest, multi.digest, "the top's digest");
	is_int(w.top.n_children, 3, "three children");
	is_str(w.top.children[2].attests, m_amd.digest, "the attestation is among them");
	ok(!w.top.children[0].has_config, "no configs unless asked");
	ok(reg_walk_images(&w, &n) == w.top.children && n == 3, "images: the children");
	reg_walk_release(&w);

	struct oci_platform want[2] = { plat("linux/arm64"), plat("amd64") };
	struct reg_walk_opts each = { .pick = REG_PICK_EACH, .plats = want, .n_plats = 2,
	                              .configs = true };
	ok(reg_walk(&s, "multi", &each, &w, &err) == 0, "walk each of two platforms");
	is_int(w.top.n_picked, 2, "two picked");
	is_str(w.top.children[0].raw.digest, m_arm.digest, "in the order asked: arm64 first");
	is_str(w.top.children[1].raw.digest, m_amd.digest, "then amd64");
	ok(w.top.children[0].has_config && w.top.children[1].has_config, "with their configs");
	is_str(w.top.children[0].cfg.platform.architecture, "arm64", "arm64's config");
	is_int(w.top.children[1].m.n_layers, 3, "the manifest parsed");
	reg_walk_release(&w);

	each.attestations = true;
	ok(reg_walk(&s, "multi", &each, &w, &err) == 0, "walk with attestations");
	is_int(w.top.n_children, 3, "the attestation pointing at a picked image is added");
	is_int(w.top.n_picked, 2, "after the picked ones");
	is_str(w.top.children[2].raw.digest, att.digest, "the attestation manifest");
	ok(!w.top.children[2].has_config, "no config for an attestation");
	reg_walk_release(&w);

	struct oci_platform s390 = plat("linux/s390x");
	struct reg_walk_opts missing = { .pick = REG_PICK_EACH, .plats = &s390, .n_plats = 1,
	                                 .mismatch_code = OCI_E_USAGE };
	err = (oci_error){ 0 };
	ok(reg_walk(&s, "multi", &missing, &w, &err) < 0, "a platform the index lacks fails");
	is_int(err.code, OCI_E_USAGE, "with the mismatch code asked for");
	ok(strstr(err.msg, ":multi: no image for platform linux/s390x in the index") != NULL,
	   "naming the reference and the platform: %s", err.msg);
	oci_platform_release(&s390);

	struct reg_walk_opts images = { .pick = REG_PICK_IMAGES };
	ok(reg_walk(&s, "multi", &images, &w, &err) == 0, "walk the images");
	is_int(w.top.n_children, 2, "attestations left out");
	reg_walk_release(&w);

	struct reg_walk_opts plats = { .pick = REG_PICK_PLATFORMS, .plats = want, .n_plats = 1 };
	ok(reg_walk(&s, "multi", &plats, &w, &err) == 0, "walk the entries for a platform set");
	is_int(w.top.n_children, 1, "one matches");
	reg_walk_release(&w);
	plats.n_plats = 0;
	ok(reg_walk(&s, "multi", &plats, &w, &err) == 0, "walk every platform");
	is_int(w.top.n_children, 2, "every image entry with a platform, no attestation");
	reg_walk_release(&w);

	config_calls = 0;
	struct reg_walk_opts counted = { .pick = REG_PICK_ALL, .configs = true,
	                                 .get_config = counting_config, .config_ud = &layout };
	ok(reg_walk(&s, "twins", &counted, &w, &err) == 0, "walk two entries of one image");
	ok(w.top.children[0].has_config && w.top.children[1].has_config, "both have the config");
	is_int(config_calls, 1, "the shared config is fetched once, through the hook");
	reg_walk_release(&w);

	struct reg_walk_opts one = { .pick = REG_PICK_EACH, .configs = true };
	ok(reg_walk(&s, "amd", &one, &w, &err) == 0, "walk a plain manifest");
	is_int(w.top.kind, OCI_DOC_MANIFEST, "the top is a manifest");
	struct reg_walk_node *img = reg_walk_images(&w, &n);
	ok(img == &w.top && n == 1, "its one image is the top");
	is_str(w.top.cfg.platform.architecture, "amd64", "with its config");
	reg_walk_release(&w);

	err = (oci_error){ 0 };
	ok(reg_walk(&s, "nested", &all, &w, &err) < 0 && strstr(err.msg, "nested index"),
	   "a nested index is refused unless asked for: %s", err.msg);
	all.nested = true;
	ok(reg_walk(&s, "nested", &all, &w, &err) == 0, "and walked when asked for");
	ok(w.top.n_children == 1 && w.top.children[0].n_children == 1 &&
	   w.top.children[0].children[0].n_children == 3, "three levels down");
	reg_walk_release(&w);
	oci_platform_release(&want[0]);
	oci_platform_release(&want[1]);
}

/* --- plans ------------------------------------------------------------------------ */

static bool has_blob(const struct reg_plan *p, const char *digest)
{
	for (size_t i = 0; i < p->n_blobs; i++)
		if (!strcmp(p->blobs[i].digest, digest))
			return true;
	return false;
}

static bool digest_right(const struct reg_plan_manifest *m)
{
	char dg[OCI_DIGEST_MAX];
	oci_digest_buf("sha256", m->data, m->len, dg);
	return !strcmp(dg, m->digest);
}

static void test_plans(void)
{
	struct reg_walk_source s = src();
	struct reg_plan p;
	oci_error err = { 0 };

	ok(reg_plan_build(&s, "amd", NULL, 0, 4, &p, &err) == 0, "plan a manifest: %s", err.msg);
	is_int(p.n_manifests, 1, "one manifest");
	is_str(reg_plan_top(&p)->digest, m_amd.digest, "the top is it");
	is_str(reg_plan_top(&p)->media_type, OCI_MT_OCI_MANIFEST, "its media type");
	ok(digest_right(reg_plan_top(&p)), "its exact bytes");
	is_int(p.n_blobs, 3, "config and two layers");
	is_int(p.n_skipped_foreign, 1, "the non-distributable layer left out");
	is_int(p.blob_bytes, cfg_amd.size + base.size + amd_layer.size, "blob bytes summed");
	reg_plan_release(&p);

	ok(reg_plan_build(&s, "multi", NULL, 0, 1, &p, &err) == 0, "plan an index");
	is_int(p.n_manifests, 4, "three children and the index");
	ok(!strcmp(p.manifests[0].digest, m_amd.digest) && !strcmp(p.manifests[1].digest, m_arm.digest) &&
	   !strcmp(p.manifests[2].digest, att.digest), "children first, in index order");
	is_str(reg_plan_top(&p)->digest, multi.digest, "the index, byte for byte, last");
	ok(digest_right(reg_plan_top(&p)), "its bytes hash to it");
	is_int(p.n_blobs, 7, "every distinct blob once (the shared base layer once)");
	ok(has_blob(&p, att_layer.digest) && has_blob(&p, cfg_arm.digest) && !has_blob(&p, foreign),
	   "attestation blobs in, foreign out");
	reg_plan_release(&p);

	struct oci_platform arm = plat("linux/arm64");
	ok(reg_plan_build(&s, "multi", &arm, 1, 4, &p, &err) == 0, "plan one platform");
	is_int(p.n_manifests, 1, "just its manifest");
	is_str(reg_plan_top(&p)->digest, m_arm.digest, "which is the top");
	ok(p.n_blobs == 3 && has_blob(&p, arm_layer.digest) && !has_blob(&p, amd_layer.digest),
	   "its blobs only");
	reg_plan_release(&p);

	struct oci_platform two[2] = { plat("linux/arm64"), plat("linux/amd64") };
	ok(reg_plan_build(&s, "multi", two, 2, 4, &p, &err) == 0, "plan two of three entries");
	is_int(p.n_manifests, 3, "two manifests and a new index");
	const struct reg_plan_manifest *top = reg_plan_top(&p);
	ok(strcmp(top->digest, multi.digest) != 0 && digest_right(top), "a new index, its own digest");
	is_str(top->media_type, OCI_MT_OCI_INDEX, "of the source's type");
	struct oci_index ix = { 0 };
	ok(oci_index_parse(&ix, top->data, top->len, top->media_type, &err) == 0 &&
	   ix.n_manifests == 2 && !strcmp(ix.manifests[0].digest, m_amd.digest) &&
	   !strcmp(ix.manifests[1].digest, m_arm.digest), "holding the two, in index order");
	oci_index_release(&ix);
	reg_plan_release(&p);
	oci_platform_release(&two[0]);
	oci_platform_release(&two[1]);

	struct oci_platform s390 = plat("linux/s390x");
	err = (oci_error){ 0 };
	ok(reg_plan_build(&s, "multi", &s390, 1, 4, &p, &err) < 0, "no entry for the platforms");
	is_str(err.msg, "no image for the platforms asked for (the index has: linux/amd64, linux/arm64/v8)",
	       "the message lists what the index has");
	is_int(p.n_manifests, 0, "an empty plan after a failure");
	oci_platform_release(&s390);

	ok(reg_plan_build(&s, "nested", NULL, 0, 4, &p, &err) == 0, "plan nested indexes");
	is_int(p.n_manifests, 6, "three manifests, two inner indexes, the top");
	ok(!strcmp(p.manifests[3].digest, multi.digest) && !strcmp(p.manifests[4].digest, inner.digest) &&
	   !strcmp(p.manifests[5].digest, outer.digest), "each index after what it lists");
	reg_plan_release(&p);
	ok(reg_plan_build(&s, "nested", &arm, 1, 4, &p, &err) < 0,
	   "platforms pick from the top index only");
	oci_platform_release(&arm);

	err = (oci_error){ 0 };
	ok(reg_plan_build(&s, "deep", NULL, 0, 4, &p, &err) < 0 && strstr(err.msg, "nested too deep"),
	   "indexes nested too deep are refused: %s", err.msg);
	ok(reg_plan_build(&s, "nope", NULL, 0, 4, &p, &err) < 0 && err.code == OCI_E_USAGE,
	   "an unknown layout name is a usage error");
}

/* --- conversion ---------------------------------------------------------------------- */

static const char *field(const struct reg_plan_manifest *m, const char *path)
{
	static char out[256];
	json_t *j = json_loadb(m->data, m->len, 0, NULL);
	json_t *v = j;
	_cleanup_free_ char *copy = oci_xstrdup(path);
	char *save = NULL;
	for (char *k = strtok_r(copy, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
		v = (*k >= '0' && *k <= '9') ? json_array_get(v, (size_t)atoi(k)) : json_object_get(v, k);
	if (json_is_integer(v))
		snprintf(out, sizeof out, "%lld", (long long)json_integer_value(v));
	else
		snprintf(out, sizeof out, "%s", json_is_string(v) ? json_string_value(v) : "(none)");
	json_decref(j);
	return out;
}

static void test_convert(void)
{
	struct reg_walk_source s = src();
	struct reg_plan p;
	oci_error err = { 0 };

	ok(reg_plan_build(&s, "docker", NULL, 0, 4, &p, &err) == 0, "plan a Docker list");
	ok(reg_plan_convert_oci(&p, &err) == 0, "convert it");
	const struct reg_plan_manifest *m = &p.manifests[0], *l = &p.manifests[1];
	is_str(m->orig_digest, d_man.digest, "the manifest's old digest kept");
	ok(strcmp(m->digest, d_man.digest) != 0 && digest_right(m), "its new digest is of its new bytes");
	is_str(m->media_type, OCI_MT_OCI_MANIFEST, "an OCI manifest");
	is_str(field(m, "mediaType"), OCI_MT_OCI_MANIFEST, "in the document too");
	is_str(field(m, "config.mediaType"), OCI_MT_OCI_CONFIG, "the config type converted");
	is_str(field(m, "config.digest"), d_cfg.digest, "the config blob unchanged");
	is_str(field(m, "layers.0.mediaType"), OCI_MT_OCI_LAYER_GZIP, "a gzip layer converted");
	is_str(field(m, "layers.1.mediaType"), OCI_MT_OCI_LAYER_ND_GZIP, "a foreign layer converted");
	is_str(l->media_type, OCI_MT_OCI_INDEX, "the list is an OCI index");
	is_str(l->orig_digest, d_list.digest, "its old digest kept");
	ok(digest_right(l) && !strcmp(l->digest, reg_plan_top(&p)->digest), "the top, rehashed");
	is_str(field(l, "manifests.0.digest"), m->digest, "pointing at the converted child");
	char len[32];
	snprintf(len, sizeof len, "%zu", m->len);
	is_str(field(l, "manifests.0.size"), len, "with its new size");
	is_str(field(l, "manifests.0.mediaType"), OCI_MT_OCI_MANIFEST, "and type");
	is_str(field(l, "manifests.0.platform.variant"), "v8", "the platform kept");
	reg_plan_release(&p);

	ok(reg_plan_build(&s, "multi", NULL, 0, 4, &p, &err) == 0, "plan an OCI index");
	ok(reg_plan_convert_oci(&p, &err) == 0, "convert it");
	bool same = true;
	for (size_t i = 0; i < p.n_manifests; i++)
		same = same && !p.manifests[i].orig_digest;
	ok(same && !strcmp(reg_plan_top(&p)->digest, multi.digest), "OCI documents keep their bytes");
	reg_plan_release(&p);
}

int main(void)
{
	char tmpl[] = "/tmp/test-plan.XXXXXX";
	const char *root = mkdtemp(tmpl);
	_cleanup_free_ char *d = oci_xasprintf("%s/lay", root);
	oci_error err = { 0 };
	dir = d;
	if (!root || oci_layout_create(dir, &err) < 0) {
		printf("Bail out! cannot create a layout: %s\n", err.msg);
		return 1;
	}
	build();
	ok(oci_layout_open(&layout, dir, &err) == 0, "the test layout opens: %s", err.msg);
	test_walks();
	test_plans();
	test_convert();
	oci_layout_release(&layout);
	_cleanup_free_ char *cmd = oci_xasprintf("rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("# cleanup of %s failed\n", root);
	return tap_done();
}
