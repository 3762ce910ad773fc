/* fuzz-catalog: loading a catalog (images.json) from bytes with
 * cat_load_buffer, linting it, resolving every image, arch and version the
 * way the commands do, and the byte-preserving edits.
 *
 * Edits never write here: the catalog is named after a file that does not
 * exist, so each edit builds its new text, checks it, and then stops at
 * "changed since it was read".  Properties: an edit's text always parses to
 * the intended JSON (the editor's safety net never fires); lint lines are
 * non-empty; cat_version_find finds the tag asked for; cat_vercmp is
 * antisymmetric.
 */
#include "fuzz.h"
#include "catalog/catalog.h"
#include "oci/cleanup.h"
#include "oci/util.h"

static void check_image(const struct cat_catalog *cat, struct cat_image *img)
{
	oci_error err = {0};
	FUZZ_ASSERT(img->key);
	FUZZ_ASSERT(cat_image_find(cat, img->key) != NULL);
	FUZZ_ASSERT(img->n_arches == 0 || img->arches[img->n_arches - 1]);
	FUZZ_ASSERT(img->arches == NULL || img->arches[img->n_arches] == NULL);

	const char *last = cat_last_tag(img);
	const char *v = NULL;
	(void)cat_version_of(img, NULL, &v, &err);

	for (size_t i = 0; i < img->n_versions; i++) {
		struct cat_version *ver = &img->versions[i];
		if (!ver->tag)
			continue;
		size_t idx = (size_t)-1;
		int n = cat_version_find(img, ver->tag, &idx);
		FUZZ_ASSERT(n >= 1 && idx <= i);
		FUZZ_ASSERT(strcmp(img->versions[idx].tag, ver->tag) == 0);
		(void)cat_version_of(img, ver->tag, &v, &err);
		if (last) {
			int a = cat_vercmp(last, ver->tag), b = cat_vercmp(ver->tag, last);
			FUZZ_ASSERT((a > 0) == (b < 0) && (a == 0) == (b == 0));
		}

		if (!img->is_image)
			continue;
		_cleanup_free_ char *arg = oci_xasprintf("%s:%s", img->key, ver->tag);
		struct cat_image *pi = NULL;
		struct cat_version *pv = NULL;
		if (cat_parse_image_tag(cat, arg, &pi, &pv, &err) == 0)
			FUZZ_ASSERT(pi && pv && strcmp(pv->tag, ver->tag) == 0);

		struct oci_ref ref = {0};
		if (cat_target_ref(img, ver->tag, "127.0.0.1:5000", &ref, &err) == 0)
			FUZZ_ASSERT(ref.path && ref.tag);
		oci_ref_release(&ref);
		for (size_t a = 0; a < img->n_arches; a++) {
			struct oci_ref src = {0};
			(void)cat_image_has_arch(img, img->arches[a]);
			if (cat_source_ref(img, img->arches[a], ver->tag, NULL, &src, &err) == 0)
				FUZZ_ASSERT(src.path && src.tag);
			oci_ref_release(&src);
		}
	}
}

#define NOWHERE "/nonexistent/ccreg-fuzz/images.json"

static void check_edit(const struct cat_catalog *cat, const char *raw, int rc,
                       const oci_error *err)
{
	/* the file does not exist: nothing is written, and success is only
	 * "nothing to do" */
	if (rc == 0)
		FUZZ_ASSERT(strcmp(cat->raw, raw) == 0);
	/* (matched from the start: keys in other messages are the input's) */
	if (strncmp(err->msg, NOWHERE ": the edit would not give",
	            strlen(NOWHERE ": the edit would not give")) == 0) {
		fprintf(stderr, "%s\n", err->msg);
		FUZZ_ASSERT(!"edit text parses to the intended JSON");
	}
}

static void try_edits(struct cat_catalog *cat, struct cat_image *img)
{
	oci_error err = {0};
	_cleanup_free_ char *raw = oci_xstrdup(cat->raw);
	_cleanup_free_ char *key = oci_xstrdup(img->key);
	int rc;

	rc = cat_add_version(cat, key, "fuzz-1.0", "Fuzz", "1.0", &err);
	check_edit(cat, raw, rc, &err);
	rc = cat_add_version(cat, key, "fuzz-2.0", NULL, NULL, &err);
	check_edit(cat, raw, rc, &err);
	for (size_t i = 0; i < img->n_versions && i < 4; i++) {
		if (!img->versions[i].tag)
			continue;
		rc = cat_set_tested(cat, key, img->versions[i].tag, &err);
		check_edit(cat, raw, rc, &err);
	}
	rc = cat_set_number(cat, key, "minDiskSizeGb", 7, &err);
	check_edit(cat, raw, rc, &err);
	rc = cat_set_number(cat, key, "dockerSizeGb", 12345, &err);
	check_edit(cat, raw, rc, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	oci_error err = {0};
	struct cat_catalog *cat = NULL;

	if (cat_load_buffer(NOWHERE, (const char *)data, size, &cat, &err) < 0) {
		FUZZ_ASSERT(err.code == OCI_E_USAGE && err.msg[0]);
		FUZZ_ASSERT(cat == NULL);
		return 0;
	}
	FUZZ_ASSERT(cat);
	for (size_t i = 0; i < cat->n_images; i++)
		check_image(cat, &cat->images[i]);
	for (size_t i = 0; i < cat->n_images && i < 8; i++)
		try_edits(cat, &cat->images[i]);

	_cleanup_strv_ char **lint = NULL;
	int n = cat_lint(cat, &lint);
	FUZZ_ASSERT(n >= 0 && lint);
	for (int i = 0; i < n; i++)
		FUZZ_ASSERT(lint[i] && lint[i][0]);
	FUZZ_ASSERT(lint[n] == NULL);

	cat_free(cat);
	return 0;
}
