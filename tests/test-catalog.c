/* tests/test-catalog.c: images.json loading, resolution, lint and edits
 * (catalog/catalog.h), on fixtures/catalog/ and the reference catalog. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "oci/cleanup.h"
#include "oci/util.h"
#include "tests/tap.h"

#define SMALL "fixtures/catalog/small.json"
#define MALFORMED "fixtures/catalog/malformed.json"
#define LINT "fixtures/catalog/lint.json"
#define REFERENCE "../../shared/reference/cocalc-images.json"

static char tmpdir[] = "/tmp/ccreg-test-catalog.XXXXXX";

static char *slurp(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "rb");
	_cleanup_buf_ struct oci_buf b = { 0 };
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		oci_buf_append(&b, chunk, n);
	oci_buf_append(&b, "", 0);
	return TAKE_PTR(b.data);
}

static void spit(const char *path, const char *s)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(s, 1, strlen(s), f) != strlen(s) || fclose(f) != 0)
		abort();
}

/* s with the first `from` replaced by `to` (NULL when from is absent). */
static char *replaced(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	if (!p)
		return NULL;
	return oci_xasprintf("%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
}

/* Files in tmpdir whose name contains ".tmp.". */
static int temp_files(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (strstr(e->d_name, ".tmp."))
			n++;
	if (d)
		closedir(d);
	return n;
}

/* Lines that differ between a and b outside their common first and last
 * lines: *removed old lines were replaced by *added new ones. */
static void line_diff(const char *a, const char *b, int *removed, int *added)
{
	size_t la = strlen(a), lb = strlen(b), pre = 0, suf = 0;

	while (pre < la && pre < lb && a[pre] == b[pre])
		pre++;
	while (pre > 0 && a[pre - 1] != '\n')
		pre--;
	while (suf < la - pre && suf < lb - pre && a[la - 1 - suf] == b[lb - 1 - suf])
		suf++;
	while (suf > 0 && a[la - suf - 1] != '\n')
		suf--;
	*removed = *added = 0;
	for (size_t i = pre; i < la - suf; i++)
		*removed += a[i] == '\n';
	for (size_t i = pre; i < lb - suf; i++)
		*added += b[i] == '\n';
}

static void test_load_small(void)
{
	struct cat_catalog *cat = NULL;
	oci_error err = { 0 };
	static const char *const keys[] = { "tool", "settings", "proxy", "julia",
		                            "hpc", "cuda", "both", "bare" };

	ok(cat_load(SMALL, &cat, &err) == 0, "small catalog loads (%s)", err.msg);
	if (!cat)
		return;
	is_int(cat->n_images, ARRAY_SIZE(keys), "every entry is described");
	for (size_t i = 0; i < ARRAY_SIZE(keys) && i < cat->n_images; i++)
		is_str(cat->images[i].key, keys[i], "entries in file order");

	struct cat_image *tool = cat_image_find(cat, "tool"), *settings = cat_image_find(cat, "settings");
	struct cat_image *proxy = cat_image_find(cat, "proxy"), *julia = cat_image_find(cat, "julia");
	struct cat_image *hpc = cat_image_find(cat, "hpc"), *cuda = cat_image_find(cat, "cuda");
	struct cat_image *both = cat_image_find(cat, "both"), *bare = cat_image_find(cat, "bare");
	ok(tool && !tool->is_image && strcmp(tool->package, "@ccreg-test/tool") == 0,
	   "npm package is not an image");
	ok(settings && !settings->is_image && !settings->package, "entry without package is not an image");
	ok(proxy->is_image && julia->is_image && hpc->is_image && cuda->is_image &&
	   both->is_image && bare->is_image, "repository packages are images");
	ok(!cat_image_find(cat, "nope"), "unknown key is not found");

	/* arches */
	ok(proxy->n_arches == 2 && !strcmp(proxy->arches[0], "x86_64") &&
	   !strcmp(proxy->arches[1], "arm64") && cat_image_multiarch(proxy),
	   "no arch, no gpu: x86_64 and arm64");
	ok(hpc->n_arches == 1 && !strcmp(hpc->arches[0], "x86_64") && !cat_image_multiarch(hpc),
	   "arch string: that arch only");
	ok(cuda->n_arches == 1 && !strcmp(cuda->arches[0], "x86_64") && cuda->gpu,
	   "gpu: x86_64 only");
	ok(both->n_arches == 2 && !strcmp(both->arches[0], "arm64") &&
	   !strcmp(both->arches[1], "x86_64"), "arch array wins over gpu, order kept");
	ok(cat_image_has_arch(both, "arm64") && !cat_image_has_arch(cuda, "arm64"),
	   "cat_image_has_arch");

	/* sizes and versions */
	ok(julia->min_disk_gb == 20 && julia->docker_size_gb == 6, "julia sizes");
	ok(proxy->min_disk_gb == -1 && proxy->docker_size_gb == -1, "absent sizes are -1");
	ok(both->min_disk_gb == 8 && both->docker_size_gb == -1, "one size given");
	is_int(proxy->n_versions, 3, "proxy has 3 versions");
	ok(proxy->versions[0].tested && !proxy->versions[1].tested && !proxy->versions[2].tested,
	   "tested: true, absent, false");
	is_int(julia->versions[1].line, 31, "line of a multi-line version is its tag's");
	is_int(julia->versions[0].line, 27, "line of a one-line version");
	is_int(julia->line, 20, "line of an entry is its key's");
	is_str(julia->versions[2].label, "1.10.1", "label");
	ok(bare->n_versions == 0 && both->n_versions == 0, "no versions");

	size_t idx = 99;
	is_int(cat_version_find(julia, "1.10.0", &idx), 1, "version found once");
	is_int(idx, 1, "at its index");
	is_int(cat_version_find(julia, "2.0", NULL), 0, "absent version");

	/* IMAGE:TAG */
	struct cat_image *img = NULL;
	struct cat_version *ver = NULL;
	ok(cat_parse_image_tag(cat, "julia:1.10.0", &img, &ver, &err) == 0 && img == julia &&
	   ver == &julia->versions[1], "julia:1.10.0 resolves");
	ok(cat_parse_image_tag(cat, "hpc", &img, &ver, &err) == 0 && img == hpc && !ver,
	   "IMAGE without tag");
	ok(cat_parse_image_tag(cat, "x:1", &img, &ver, &err) < 0 && err.code == OCI_E_USAGE,
	   "unknown image is a usage error");
	is_str(err.msg, "unknown catalog image \"x\" in " SMALL, "unknown image message");
	ok(cat_parse_image_tag(cat, "julia:9.9", &img, &ver, &err) < 0 && err.code == OCI_E_USAGE,
	   "unknown tag is a usage error");
	is_str(err.msg, "julia has no version with tag \"9.9\"", "unknown tag message");
	ok(cat_parse_image_tag(cat, "tool:latest", &img, &ver, &err) < 0 &&
	   strstr(err.msg, "not a container image"), "npm entry is not an IMAGE");
	ok(cat_parse_image_tag(cat, "settings", &img, &ver, &err) < 0 &&
	   strstr(err.msg, "not a container image"), "package-less entry is not an IMAGE");

	/* refs */
	struct oci_ref r = { 0 };
	_cleanup_free_ char *s1 = NULL, *s2 = NULL, *s3 = NULL, *s4 = NULL;
	ok(cat_source_ref(julia, "x86_64", "1.10.1", "127.0.0.1:5000", &r, &err) == 0,
	   "source ref (%s)", err.msg);
	s1 = oci_ref_string(&r);
	is_str(s1, "127.0.0.1:5000/ccreg-test/julia-x86_64:1.10.1", "x86_64 source");
	oci_ref_release(&r);
	ok(cat_source_ref(julia, "arm64", "1.10.1", NULL, &r, &err) == 0, "arm64 source ref");
	s2 = oci_ref_string(&r);
	is_str(s2, "docker.io/ccreg-test/julia-arm64:1.10.1", "arm64 source on docker.io by default");
	is_str(oci_ref_api_host(&r), "registry-1.docker.io", "docker.io API host");
	oci_ref_release(&r);
	ok(cat_target_ref(julia, "1.10.1", "localhost:5000", &r, &err) == 0, "target ref");
	s3 = oci_ref_string(&r);
	is_str(s3, "localhost:5000/ccreg-test/julia:1.10.1", "target");
	oci_ref_release(&r);
	ok(cat_target_ref(hpc, "2024-05-18", "docker.io", &r, &err) == 0, "single-arch target");
	s4 = oci_ref_string(&r);
	is_str(s4, "docker.io/ccreg-test/hpc:2024-05-18", "single-arch target");
	oci_ref_release(&r);
	ok(cat_source_ref(julia, "ppc64le", "1.0", NULL, &r, &err) < 0 && err.code == OCI_E_USAGE,
	   "unknown arch refused");
	ok(cat_target_ref(tool, "latest", NULL, &r, &err) < 0 && err.code == OCI_E_USAGE,
	   "npm entry has no target ref");
	ok(cat_target_ref(julia, "1.0", "myregistry", &r, &err) < 0 && strstr(err.msg, "invalid registry"),
	   "registry that is not a host is refused");

	/* last tag / version */
	const char *v = NULL;
	is_str(cat_last_tag(julia), "1.10.1", "julia last tag");
	is_str(cat_last_tag(cuda), "12.6.3", "cuda last tag");
	ok(cat_last_tag(bare) == NULL, "no versions: no last tag");
	ok(cat_version_of(cuda, NULL, &v, &err) == 0, "version of cuda");
	is_str(v, "12.6.3-devel", "version wins over tag");
	ok(cat_version_of(proxy, NULL, &v, &err) == 0, "version of proxy");
	is_str(v, "1.5", "tag when there is no version");
	ok(cat_version_of(julia, "1.9.4", &v, &err) == 0, "version of a given tag");
	is_str(v, "1.9.4", "version of julia:1.9.4");
	ok(cat_version_of(julia, "7", &v, &err) < 0 && err.code == OCI_E_USAGE,
	   "version of an unknown tag fails");
	ok(cat_version_of(bare, NULL, &v, &err) < 0 && err.code == OCI_E_USAGE &&
	   strstr(err.msg, "bare has no versions"), "version of an image without versions fails");
	cat_free(cat);
}

/* One version as registry targets, and the arch maps both ways. */
static void test_target(void)
{
	struct cat_catalog *cat = NULL;
	struct cat_target t = { 0 };
	oci_error err = { 0 };

	if (cat_load(SMALL, &cat, &err) < 0) {
		ok(0, "small catalog loads (%s)", err.msg);
		return;
	}
	const struct cat_image *julia = cat_image_find(cat, "julia"), *hpc = cat_image_find(cat, "hpc");
	const struct cat_image *tool = cat_image_find(cat, "tool");

	ok(cat_target_init(&t, julia, "1.10.1", "127.0.0.1:5000", NULL, &err) == 0,
	   "julia:1.10.1 target (%s)", err.msg);
	is_str(t.key, "julia", "target key");
	is_str(t.tag, "1.10.1", "target tag");
	is_str(t.reference, "127.0.0.1:5000/ccreg-test/julia:1.10.1", "target reference");
	is_str(oci_ref_reference(&t.ref), "1.10.1", "target ref's tag");
	ok(!t.single_arch, "julia is multi-arch");
	is_int(t.n, 2, "the catalog's two arches");
	if (t.n == 2) {
		is_str(t.arches[0], "x86_64", "first arch, catalog name");
		is_str(t.sources[0], "127.0.0.1:5000/ccreg-test/julia-x86_64:1.10.1", "x86_64 source");
		is_str(t.sources[1], "127.0.0.1:5000/ccreg-test/julia-arm64:1.10.1", "arm64 source");
		_cleanup_free_ char *p0 = oci_platform_string(&t.want[0]);
		_cleanup_free_ char *p1 = oci_platform_string(&t.want[1]);
		is_str(p0, "linux/amd64", "x86_64 wants linux/amd64");
		is_str(p1, "linux/arm64", "arm64 wants linux/arm64");
		ok(!t.arches[2] && !t.sources[2], "arches and sources NULL-terminated");
	}
	cat_target_release(&t);
	ok(t.n == 0 && !t.reference && !t.want, "release empties the target");
	cat_target_release(&t);

	ok(cat_target_init(&t, hpc, "2024-05-18", NULL, NULL, &err) == 0, "single-arch target");
	ok(t.single_arch && t.n == 1, "hpc: one arch, single_arch");
	is_str(t.reference, "docker.io/ccreg-test/hpc:2024-05-18", "docker.io by default");
	cat_target_release(&t);

	char *only_arm[] = { "arm64", NULL }, *bad[] = { "x86_64", "s390x", NULL };
	ok(cat_target_init(&t, julia, "1.10.1", "localhost:5000", only_arm, &err) == 0,
	   "arches given instead of the catalog's");
	ok(t.n == 1 && !strcmp(t.sources[0], "localhost:5000/ccreg-test/julia-arm64:1.10.1"),
	   "  only that arch's source");
	ok(!t.single_arch, "  single_arch stays the image's");
	cat_target_release(&t);
	ok(cat_target_init(&t, julia, "1.10.1", NULL, bad, &err) < 0 && err.code == OCI_E_USAGE,
	   "unknown arch refused");
	is_str(err.msg, "julia: unknown arch \"s390x\"", "  the message names image and arch");
	ok(t.n == 0 && !t.reference && !t.sources, "  the target is left empty");
	ok(cat_target_init(&t, tool, "latest", NULL, NULL, &err) < 0 &&
	   strstr(err.msg, "not a container image"), "npm entry has no target");
	ok(cat_target_init(&t, julia, "1.0", "myregistry", NULL, &err) < 0 &&
	   strstr(err.msg, "invalid registry"), "registry that is not a host is refused");
	cat_free(cat);

	is_str(cat_arch_to_oci("x86_64"), "amd64", "catalog x86_64");
	is_str(cat_arch_to_oci("arm64"), "arm64", "catalog arm64");
	is_str(cat_arch_to_oci("aarch64"), "arm64", "catalog aarch64");
	is_str(cat_arch_to_oci("amd64"), "amd64", "catalog amd64");
	ok(cat_arch_to_oci("x86-64") == NULL, "catalog x86-64 is not a catalog name");
	ok(cat_arch_to_oci("sparc") == NULL, "catalog unknown arch");
	ok(cat_arch_to_oci(NULL) == NULL, "catalog NULL arch");
	is_str(cat_arch_from_oci("amd64"), "x86_64", "amd64 is x86_64 in the catalog");
	is_str(cat_arch_from_oci("x86-64"), "x86_64", "x86-64 is x86_64");
	is_str(cat_arch_from_oci("x86_64"), "x86_64", "x86_64 stays");
	is_str(cat_arch_from_oci("aarch64"), "arm64", "aarch64 is arm64");
	is_str(cat_arch_from_oci("arm64"), "arm64", "arm64 stays");
	ok(cat_arch_from_oci("s390x") == NULL && cat_arch_from_oci(NULL) == NULL,
	   "unknown arch: NULL");
}

static void test_duplicate_version_of(void)
{
	static const char text[] =
		"{\"a\": {\"package\": \"x/a\", \"versions\": [{\"tag\": \"1\"}, {\"tag\": \"1\", \"version\": \"v\"}]}}";
	struct cat_catalog *cat = NULL;
	oci_error err = { 0 };
	const char *v;

	ok(cat_load_buffer("dup.json", text, strlen(text), &cat, &err) == 0, "load from bytes");
	ok(cat_version_of(&cat->images[0], "1", &v, &err) < 0 &&
	   !strcmp(err.msg, "a has 2 versions with tag \"1\""), "duplicated tag is an error");
	ok(cat_version_of(&cat->images[0], NULL, &v, &err) == 0 && !strcmp(v, "v"),
	   "last version still resolves");
	cat_free(cat);
	ok(cat_load_buffer("k.json", "{\"a\": 1, \"a\": 2}", 16, &cat, &err) < 0 &&
	   err.code == OCI_E_USAGE && !strncmp(err.msg, "k.json:1:", 9),
	   "duplicate keys refused with a position (%s)", err.msg);
	ok(cat_load_buffer("k.json", "[1]", 3, &cat, &err) < 0 && err.code == OCI_E_USAGE,
	   "top level must be an object");
	ok(cat_load("fixtures/catalog/absent.json", &cat, &err) < 0 && err.code == OCI_E_USAGE &&
	   strstr(err.msg, "absent.json"), "missing file names the file");
}

static void test_malformed(void)
{
	struct cat_catalog *cat = NULL;
	oci_error err = { 0 };

	ok(cat_load(MALFORMED, &cat, &err) < 0 && !cat, "malformed catalog is refused");
	is_int(err.code, OCI_E_USAGE, "as a usage error");
	ok(strncmp(err.msg, MALFORMED ":6:7: ", strlen(MALFORMED ":6:7: ")) == 0,
	   "message is FILE:LINE:COLUMN: (%s)", err.msg);
}

static void test_vercmp(void)
{
	static const struct { const char *a, *b; int want; } c[] = {
		{ "1.10.0", "1.9.4", 1 },    { "1.10.3", "1.10.3.p2", -1 },
		{ "1.10.3", "1.10.3", 0 },   { "2024-03.p3", "2024-03-10", -1 },
		{ "24.04-py3", "23.10-py3", 1 }, { "1.01", "1.1", 0 },
		{ "10.5", "10.4.beta3", 1 }, { "2.0a", "2.0", 1 },
		{ "1.0", "1.0rc1", -1 },     { "1", "a", 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		int got = cat_vercmp(c[i].a, c[i].b);
		got = got < 0 ? -1 : got > 0;
		ok(got == c[i].want, "vercmp(%s, %s) = %d", c[i].a, c[i].b, c[i].want);
		int back = cat_vercmp(c[i].b, c[i].a);
		back = back < 0 ? -1 : back > 0;
		ok(back == -c[i].want, "vercmp(%s, %s) = %d", c[i].b, c[i].a, -c[i].want);
	}
}

static void test_lint(void)
{
	static const char *const want[] = {
		LINT ":21: dups: duplicate tag \"1.0\" (also on line 19)",
		LINT ":26: notag: version 2 has no tag",
		LINT ":30: badtag: invalid tag \"1.0 beta\"",
		LINT ":33: badrepo: package \"Ccreg-Test/Bad\" is not a valid repository name",
		LINT ":38: ppc: unknown arch \"ppc64le\"",
		LINT ":43: small-disk: minDiskSizeGb 5 is below dockerSizeGb 6",
		LINT ":48: r: repository name \"ccreg-test/r\" is one character",
		LINT ":56: order: versions out of order: \"1.10.5\" comes after \"1.11.0\"",
	};
	struct cat_catalog *cat = NULL;
	_cleanup_strv_ char **probs = NULL, **none = NULL;
	oci_error err = { 0 };
	int n;

	ok(cat_load(LINT, &cat, &err) == 0, "lint fixture loads (%s)", err.msg);
	if (!cat)
		return;
	n = cat_lint(cat, &probs);
	is_int(n, ARRAY_SIZE(want), "one problem per planted mistake");
	for (int i = 0; i < n; i++)
		printf("# %s\n", probs[i]);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		bool found = false;
		for (int k = 0; k < n && !found; k++)
			found = strncmp(probs[k], want[i], strlen(want[i])) == 0;
		ok(found, "lint reports: %s", want[i]);
	}
	for (int k = 0; k < n; k++)
		ok(!strstr(probs[k], ": clean:") && !strstr(probs[k], ": npm:") &&
		   !strstr(probs[k], ": patched:"),
		   "nothing reported for clean entries: %s", probs[k]);
	cat_free(cat);

	ok(cat_load(SMALL, &cat, &err) == 0, "small loads");
	is_int(cat_lint(cat, &none), 0, "small catalog is clean");
	ok(none && !none[0], "empty list is NULL-terminated");
	cat_free(cat);
}

static void test_reference(void)
{
	struct cat_catalog *cat = NULL;
	oci_error err = { 0 };
	json_error_t je;
	_cleanup_json_ json_t *root = json_load_file(REFERENCE, 0, &je);
	const char *key;
	json_t *entry;
	int images = 0, good_tags = 0, good_versions = 0, entries = 0;
	_cleanup_strv_ char **probs = NULL;

	if (access(REFERENCE, R_OK) != 0 || !root) {
		printf("ok %d # SKIP reference catalog %s not present\n", ++tap_n, REFERENCE);
		return;
	}
	ok(cat_load(REFERENCE, &cat, &err) == 0, "reference catalog loads (%s)", err.msg);
	if (!cat)
		return;
	is_int(cat->n_images, 28, "all 28 entries");
	json_object_foreach(root, key, entry) {
		struct cat_image *img = cat_image_find(cat, key);
		json_t *vs = json_object_get(entry, "versions");
		json_t *last = json_array_size(vs) ? json_array_get(vs, json_array_size(vs) - 1) : NULL;
		const char *want_tag = json_string_value(json_object_get(last, "tag"));
		const char *want_ver = json_string_value(json_object_get(last, "version"));
		const char *got = NULL;
		oci_error e2 = { 0 };

		if (!want_ver)
			want_ver = want_tag;
		entries++;
		if (!img)
			continue;
		images += img->is_image;
		const char *lt = cat_last_tag(img);
		good_tags += (!lt && !want_tag) || (lt && want_tag && !strcmp(lt, want_tag));
		if (cat_version_of(img, NULL, &got, &e2) == 0)
			good_versions += want_ver && !strcmp(got, want_ver);
		else
			good_versions += !want_ver;
	}
	is_int(entries, 28, "jansson sees 28 entries too");
	is_int(good_tags, 28, "last tag matches for every entry");
	is_int(good_versions, 28, "version ?? tag matches for every entry");
	is_int(images, 25, "25 container images");
	struct cat_image *cocalc = cat_image_find(cat, "cocalc");
	ok(cocalc && !cocalc->is_image, "@cocalc/compute-server is not an image");
	ok(!cat_image_find(cat, "defaults")->is_image && !cat_image_find(cat, "google-cloud")->is_image,
	   "defaults and google-cloud are not images");
	struct cat_image *hpc = cat_image_find(cat, "hpc"), *torch = cat_image_find(cat, "pytorch");
	struct cat_image *julia = cat_image_find(cat, "julia");
	ok(hpc->n_arches == 1 && !strcmp(hpc->arches[0], "x86_64"), "hpc: x86_64 only (arch)");
	ok(torch->n_arches == 1 && torch->gpu, "pytorch: x86_64 only (gpu)");
	ok(julia->n_arches == 2 && cat_image_multiarch(julia), "julia: multi-arch");
	ok(cat_image_find(cat, "cocalc-docker")->disabled, "disabled entry");
	is_str(cat_last_tag(julia), "1.11.0", "julia's last tag");
	int n = cat_lint(cat, &probs);
	for (int i = 0; i < n; i++)
		printf("#   %s\n", probs[i]);
	/* Checked by hand against the lint rules: none applies. */
	is_int(n, 0, "reference catalog: no lint problems");
	cat_free(cat);
}

/* Load a fresh copy of src in tmpdir as name, run an edit, and compare. */
static void check_edit(const char *src, const char *name, const char *what,
                       int (*edit)(struct cat_catalog *, oci_error *),
                       const char *from, const char *to)
{
	_cleanup_free_ char *path = oci_xasprintf("%s/%s", tmpdir, name);
	_cleanup_free_ char *before = slurp(src), *after = NULL, *want = NULL;
	struct cat_catalog *cat = NULL;
	oci_error err = { 0 };

	spit(path, before);
	chmod(path, 0640);
	if (cat_load(path, &cat, &err) < 0) {
		ok(0, "%s: load (%s)", what, err.msg);
		return;
	}
	ok(edit(cat, &err) == 0, "%s (%s)", what, err.msg);
	after = slurp(path);
	want = replaced(before, from, to);
	ok(want != NULL, "%s: fixture has the text to change", what);
	is_str(after, want, what);
	ok(cat->raw_len == strlen(after) && !memcmp(cat->raw, after, cat->raw_len),
	   "%s: catalog reloaded from the new bytes", what);
	struct stat st;
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640, "%s: mode kept", what);
	is_int(temp_files(), 0, "no temporary file left");
	cat_free(cat);
}

static int add_proxy(struct cat_catalog *c, oci_error *e) { return cat_add_version(c, "proxy", "1.6", NULL, NULL, e); }
static int add_julia(struct cat_catalog *c, oci_error *e) { return cat_add_version(c, "julia", "1.11.0", "1.11.0", "1.11.0", e); }
static int add_hpc(struct cat_catalog *c, oci_error *e) { return cat_add_version(c, "hpc", "2024-06-01", "June", NULL, e); }
static int add_both(struct cat_catalog *c, oci_error *e) { return cat_add_version(c, "both", "1.0", NULL, NULL, e); }
static int add_bare(struct cat_catalog *c, oci_error *e) { return cat_add_version(c, "bare", "0.1", "first \"one\"", NULL, e); }
static int add_cuda(struct cat_catalog *c, oci_error *e) { return cat_add_version(c, "cuda", "12.8", NULL, "12.8.0", e); }
static int tested_proxy(struct cat_catalog *c, oci_error *e) { return cat_set_tested(c, "proxy", "1.4", e); }
static int tested_proxy5(struct cat_catalog *c, oci_error *e) { return cat_set_tested(c, "proxy", "1.5", e); }
static int tested_julia(struct cat_catalog *c, oci_error *e) { return cat_set_tested(c, "julia", "1.10.1", e); }
static int tested_hpc(struct cat_catalog *c, oci_error *e) { return cat_set_tested(c, "hpc", "2024-05-18", e); }
static int num_julia(struct cat_catalog *c, oci_error *e) { return cat_set_number(c, "julia", "minDiskSizeGb", 25, e); }
static int num_proxy(struct cat_catalog *c, oci_error *e) { return cat_set_number(c, "proxy", "dockerSizeGb", 2, e); }
static int num_both(struct cat_catalog *c, oci_error *e) { return cat_set_number(c, "both", "dockerSizeGb", 3, e); }

static void test_edits(void)
{
	check_edit(SMALL, "a.json", "add-version, one-line style", add_proxy,
	           "      { \"tag\": \"1.5\", \"tested\": false }\n",
	           "      { \"tag\": \"1.5\", \"tested\": false },\n"
	           "      { \"tag\": \"1.6\", \"tested\": false }\n");
	check_edit(SMALL, "a.json", "add-version, multi-line style and field order", add_julia,
	           "        \"tag\": \"1.10.1\",\n        \"tested\": false\n      }\n",
	           "        \"tag\": \"1.10.1\",\n        \"tested\": false\n      },\n"
	           "      {\n        \"label\": \"1.11.0\",\n        \"version\": \"1.11.0\",\n"
	           "        \"tag\": \"1.11.0\",\n        \"tested\": false\n      }\n");
	check_edit(SMALL, "a.json", "add-version after a lone multi-line element", add_hpc,
	           "        \"label\": \"2024-05-18\"\n      }\n",
	           "        \"label\": \"2024-05-18\"\n      },\n"
	           "      {\n        \"tag\": \"2024-06-01\",\n        \"label\": \"June\",\n"
	           "        \"tested\": false\n      }\n");
	check_edit(SMALL, "a.json", "add-version into an inline array", add_cuda,
	           "{ \"version\": \"12.6.3-devel\", \"tag\": \"12.6.3\", \"tested\": true }]",
	           "{ \"version\": \"12.6.3-devel\", \"tag\": \"12.6.3\", \"tested\": true }, "
	           "{ \"version\": \"12.8.0\", \"tag\": \"12.8\", \"tested\": false }]");
	check_edit(SMALL, "a.json", "add-version into an empty array", add_both,
	           "\"versions\": []",
	           "\"versions\": [\n      { \"tag\": \"1.0\", \"tested\": false }\n    ]");
	check_edit(SMALL, "a.json", "add-version without a versions field", add_bare,
	           "    \"package\": \"ccreg-test/bare\"\n",
	           "    \"package\": \"ccreg-test/bare\",\n    \"versions\": [\n"
	           "      { \"tag\": \"0.1\", \"label\": \"first \\\"one\\\"\", \"tested\": false }\n"
	           "    ]\n");
	check_edit(SMALL, "a.json", "mark-tested inserts after tag", tested_proxy,
	           "{ \"tag\": \"1.4\" }", "{ \"tag\": \"1.4\", \"tested\": true }");
	check_edit(SMALL, "a.json", "mark-tested flips false", tested_proxy5,
	           "{ \"tag\": \"1.5\", \"tested\": false }", "{ \"tag\": \"1.5\", \"tested\": true }");
	check_edit(SMALL, "a.json", "mark-tested, multi-line", tested_julia,
	           "\"tag\": \"1.10.1\",\n        \"tested\": false",
	           "\"tag\": \"1.10.1\",\n        \"tested\": true");
	check_edit(SMALL, "a.json", "mark-tested inserts a line after tag", tested_hpc,
	           "        \"tag\": \"2024-05-18\",\n",
	           "        \"tag\": \"2024-05-18\",\n        \"tested\": true,\n");
	check_edit(SMALL, "a.json", "set minDiskSizeGb", num_julia,
	           "\"minDiskSizeGb\": 20,", "\"minDiskSizeGb\": 25,");
	check_edit(SMALL, "a.json", "insert dockerSizeGb after package", num_proxy,
	           "    \"package\": \"ccreg-test/proxy\",\n",
	           "    \"package\": \"ccreg-test/proxy\",\n    \"dockerSizeGb\": 2,\n");
	check_edit(SMALL, "a.json", "insert dockerSizeGb after minDiskSizeGb", num_both,
	           "    \"minDiskSizeGb\": 8,\n",
	           "    \"minDiskSizeGb\": 8,\n    \"dockerSizeGb\": 3,\n");
}

static void test_refused_edits(void)
{
	_cleanup_free_ char *path = oci_xasprintf("%s/r.json", tmpdir);
	_cleanup_free_ char *orig = slurp(SMALL), *bad = slurp(MALFORMED), *now = NULL;
	struct cat_catalog *cat = NULL;
	oci_error err = { 0 };

	spit(path, orig);
	if (cat_load(path, &cat, &err) < 0) {
		ok(0, "load copy (%s)", err.msg);
		return;
	}
	ok(cat_add_version(cat, "julia", "1.10.0", NULL, NULL, &err) < 0 && err.code == OCI_E_USAGE &&
	   strstr(err.msg, "already has a version with tag \"1.10.0\""), "duplicate tag refused");
	ok(cat_add_version(cat, "julia", "bad tag", NULL, NULL, &err) < 0 && err.code == OCI_E_USAGE,
	   "invalid tag refused");
	ok(cat_add_version(cat, "nope", "1", NULL, NULL, &err) < 0 &&
	   strstr(err.msg, "unknown catalog image \"nope\""), "unknown image refused");
	ok(cat_set_tested(cat, "julia", "9", &err) < 0 && strstr(err.msg, "no version with tag \"9\""),
	   "mark-tested of an unknown tag refused");
	ok(cat_set_number(cat, "julia", "priority", 3, &err) < 0, "only size fields are set");
	ok(cat_set_tested(cat, "julia", "1.10.0", &err) == 0, "already tested: ok");
	now = slurp(path);
	is_str(now, orig, "refused and no-op edits leave the file alone");
	free(now);

	/* someone broke the file after we read it */
	spit(path, bad);
	ok(cat_add_version(cat, "julia", "2.0", NULL, NULL, &err) < 0 && err.code == OCI_E_USAGE &&
	   strstr(err.msg, "changed since it was read"), "changed file is not overwritten (%s)", err.msg);
	now = slurp(path);
	is_str(now, bad, "malformed catalog kept byte for byte");
	is_int(temp_files(), 0, "no temporary file left");
	cat_free(cat);
	cat = NULL;
	ok(cat_load(path, &cat, &err) < 0 && !cat, "and a malformed catalog cannot be loaded to edit");
}

/* Edits of the real catalog touch only the intended lines. */
static void test_reference_edits(void)
{
	_cleanup_free_ char *path = oci_xasprintf("%s/ref.json", tmpdir);
	_cleanup_free_ char *orig = slurp(REFERENCE), *after = NULL;
	struct cat_catalog *cat = NULL;
	oci_error err = { 0 };
	int rm, add;

	if (!orig) {
		printf("ok %d # SKIP reference catalog %s not present\n", ++tap_n, REFERENCE);
		return;
	}
	spit(path, orig);
	if (cat_load(path, &cat, &err) < 0) {
		ok(0, "load reference copy (%s)", err.msg);
		return;
	}
	ok(cat_add_version(cat, "julia", "1.11.1", "1.11.1", "1.11.1", &err) == 0, "add julia 1.11.1");
	after = slurp(path);
	line_diff(orig, after, &rm, &add);
	/* the old closing brace now closes the new element: a pure insertion */
	ok(rm == 0 && add == 6, "julia: 6 lines inserted (-%d +%d)", rm, add);
	free(orig);
	orig = TAKE_PTR(after);
	ok(cat_add_version(cat, "proxy", "1.8", NULL, NULL, &err) == 0, "add proxy 1.8");
	after = slurp(path);
	line_diff(orig, after, &rm, &add);
	ok(rm == 1 && add == 2, "proxy: one line gains a comma, 1 line added (-%d +%d)", rm, add);
	ok(strstr(after, "      { \"tag\": \"1.7\", \"tested\": true },\n"
	                 "      { \"tag\": \"1.8\", \"tested\": false }\n    ],") != NULL,
	   "proxy: one-line element appended");
	free(orig);
	orig = TAKE_PTR(after);
	ok(cat_set_tested(cat, "vpn", "1.6", &err) == 0, "mark vpn 1.6 tested");
	after = slurp(path);
	line_diff(orig, after, &rm, &add);
	ok(rm == 1 && add == 1, "vpn: one line changed (-%d +%d)", rm, add);
	free(orig);
	orig = TAKE_PTR(after);
	ok(cat_set_number(cat, "sagemath", "dockerSizeGb", 11, &err) == 0, "set sagemath dockerSizeGb");
	after = slurp(path);
	line_diff(orig, after, &rm, &add);
	ok(rm == 1 && add == 1, "sagemath: one line changed (-%d +%d)", rm, add);
	free(orig);
	orig = TAKE_PTR(after);
	ok(cat_set_number(cat, "proxy", "minDiskSizeGb", 4, &err) == 0, "insert proxy minDiskSizeGb");
	after = slurp(path);
	line_diff(orig, after, &rm, &add);
	ok(rm == 0 && add == 1, "proxy: one line inserted (-%d +%d)", rm, add);
	ok(strstr(after, "\"package\": \"sagemathinc/proxy\",\n    \"minDiskSizeGb\": 4,\n    \"icon\"") &&
	   strstr(after, "\"minDiskSizeGb\": 25,\n    \"dockerSizeGb\": 11,"), "sizes edited in place");
	is_str(cat_last_tag(cat_image_find(cat, "julia")), "1.11.1", "reloaded catalog sees the edit");
	is_int(temp_files(), 0, "no temporary file left");
	cat_free(cat);
}

static void cleanup_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = oci_xasprintf("%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_load_small();
	test_target();
	test_duplicate_version_of();
	test_malformed();
	test_vercmp();
	test_lint();
	test_reference();
	test_edits();
	test_refused_edits();
	test_reference_edits();
	cleanup_tmpdir();
	return tap_done();
}
