/* catalog/catalog.h: the catalog (images.json): load, resolve, lint, edit.
 *
 * cat_load() reads the file once, keeps its raw bytes and the jansson tree,
 * and describes every top-level entry in file order (struct cat_image).  An
 * entry is a container image when its "package" is a repository path
 * ("sagemathinc/julia"); npm packages ("@cocalc/compute-server") and entries
 * without a package ("defaults") are kept but have is_image false.
 *
 * Arches: "arch" (a string or an array) when present; else "gpu": true means
 * x86_64 only; else x86_64 and arm64.  Names are the catalog's ("x86_64",
 * "arm64"); cat_arch_to_oci() maps them, unknown ones are kept and reported
 * by cat_lint().  A multi-arch image is built per arch as
 * <package>-<arch>:<tag> and assembled into <package>:<tag>; struct
 * cat_target says all of that for one version.
 *
 * Ownership: the catalog owns everything reachable from it (strings,
 * versions, the borrowed json_t pointers); cat_free() releases it all.
 * Edits (cat_add_version, cat_set_tested, cat_set_number) change only the
 * bytes they must, write the file atomically (oci_file_replace: a temporary
 * file, fsync, rename) after checking that the result parses to exactly the
 * intended JSON, then reload the catalog: pointers into it taken before an
 * edit are invalid after it.  Errors are OCI_E_USAGE (malformed catalog,
 * unknown image or tag, refused edit), or OCI_E_IO when writing failed.
 */
#ifndef CCREG_CATALOG_CATALOG_H
#define CCREG_CATALOG_CATALOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "oci/error.h"
#include "oci/platform.h"
#include "oci/ref.h"

struct cat_version {
	char *tag;     /* NULL when missing (cat_lint reports it) */
	char *label;   /* NULL when absent */
	char *version; /* NULL when absent */
	bool tested;   /* absent means false */
	int line;      /* line of its "tag" (else of the element) in the file */
	json_t *json;  /* the element, borrowed from the catalog */
};

struct cat_image {
	char *key;           /* the entry's name in images.json: "julia" */
	char *label;         /* NULL when absent */
	char *package;       /* NULL when absent */
	bool is_image;       /* package is a repository path */
	bool disabled;
	bool gpu;
	char **arches;       /* catalog names, NULL-terminated */
	size_t n_arches;
	int min_disk_gb;     /* minDiskSizeGb, -1 when absent */
	int docker_size_gb;  /* dockerSizeGb, -1 when absent */
	struct cat_version *versions;
	size_t n_versions;
	int line;            /* line of the entry's key */
	json_t *json;        /* the whole entry, borrowed from the catalog */
	size_t raw_off;      /* internal: offset of the entry's value in raw */
};

struct cat_catalog {
	char *path;          /* as given to cat_load() */
	char *raw;           /* the file's bytes, NUL-terminated */
	size_t raw_len;
	json_t *root;
	struct cat_image *images;
	size_t n_images;
	size_t *line_starts; /* internal: offset of each line, for line numbers */
	size_t n_lines;
};

/* Load and describe a catalog.  A file that is not JSON is OCI_E_USAGE with
 * "FILE:LINE:COLUMN: message"; duplicate keys in an object are refused. */
int cat_load(const char *path, struct cat_catalog **out, oci_error *err);
/* The same from bytes; `name` stands for the path in messages and edits
 * (which write only while the file `name` holds exactly these bytes). */
int cat_load_buffer(const char *name, const char *data, size_t len,
                    struct cat_catalog **out, oci_error *err);
void cat_free(struct cat_catalog *cat);

/* The entry named `key` (any entry, image or not); NULL when none. */
struct cat_image *cat_image_find(const struct cat_catalog *cat, const char *key);
/* Number of versions of img whose tag is `tag`; *idx (may be NULL) is set to
 * the first one when there is any. */
int cat_version_find(const struct cat_image *img, const char *tag, size_t *idx);
static inline bool cat_image_multiarch(const struct cat_image *img)
{
	return img->n_arches > 1;
}
/* Does img list this catalog arch? */
bool cat_image_has_arch(const struct cat_image *img, const char *catalog_arch);

/* "IMAGE[:TAG]": the catalog image and, when a tag is given, its one version
 * (*ver is NULL without a tag).  OCI_E_USAGE:
 *   unknown catalog image "x" in images.json
 *   julia is not a container image (package "@x/y")
 *   julia has no version with tag "9.9"
 *   julia has 2 versions with tag "1.10.3" */
int cat_parse_image_tag(const struct cat_catalog *cat, const char *arg,
                        struct cat_image **img, struct cat_version **ver,
                        oci_error *err);

/* Repositories, with `registry` ("docker.io" when NULL, or "127.0.0.1:5000"):
 * the per-arch build source <registry>/<package>-<catalog_arch>:<tag>, and
 * the target <registry>/<package>:<tag> (where a single-arch image lives).
 * Fill *ref (release with oci_ref_release); OCI_E_USAGE for a non-image, an
 * unknown arch or a name the reference grammar refuses. */
int cat_source_ref(const struct cat_image *img, const char *catalog_arch,
                   const char *tag, const char *registry, struct oci_ref *ref,
                   oci_error *err);
int cat_target_ref(const struct cat_image *img, const char *tag,
                   const char *registry, struct oci_ref *ref, oci_error *err);

/* A catalog version as the registry sees it: the target <registry>/<package>:<tag>
 * (where the index is assembled, or a single-arch image is pushed), and per
 * arch its build source <registry>/<package>-<arch>:<tag> and the platform
 * linux/<OCI arch> it must hold.  Plain data owning all of it;
 * cat_target_release() frees it and accepts a zeroed struct. */
struct cat_target {
	char *key;                 /* "julia" */
	char *tag;                 /* "1.10.1" */
	struct oci_ref ref;        /* the target */
	char *reference;           /* ref as a string */
	bool single_arch;          /* the image is built for one arch only */
	size_t n;                  /* arches */
	char **arches;             /* catalog names, NULL-terminated */
	char **sources;            /* per arch, NULL-terminated */
	struct oci_platform *want; /* per arch */
};

/* Fill *t for img's version `tag` on `registry` (as cat_target_ref).  arches:
 * NULL for img's own, else these catalog names (NULL-terminated).
 * OCI_E_USAGE as cat_target_ref and cat_source_ref, and
 * "KEY: unknown arch \"A\"" for a name cat_arch_to_oci() does not know;
 * *t is then left empty. */
int cat_target_init(struct cat_target *t, const struct cat_image *img, const char *tag,
                    const char *registry, char *const *arches, oci_error *err);
void cat_target_release(struct cat_target *t);

/* The two arch maps.  Catalog name → OCI architecture: "x86_64" (or
 * "amd64") → "amd64", "arm64" (or "aarch64") → "arm64"; NULL if unknown.
 * Any spelling ("amd64", "x86-64", "aarch64" or a catalog name) → the
 * catalog's name ("x86_64", "arm64"); NULL if unknown. */
const char *cat_arch_to_oci(const char *catalog_arch);
const char *cat_arch_from_oci(const char *arch);

/* Tag of the last version (what get-tag.js printed); NULL when there is
 * none or it has no tag. */
const char *cat_last_tag(const struct cat_image *img);
/* `version` or else `tag` of the last version, or of the one version with
 * `tag` when tag is not NULL.  *out points into the catalog. */
int cat_version_of(const struct cat_image *img, const char *tag,
                   const char **out, oci_error *err);

/* Order of two version strings ("1.10.3" < "1.10.3.p2" < "1.11.0"), rpm
 * style: runs of digits compare numerically, runs of letters as text,
 * other characters only separate, a number beats letters, and of two
 * otherwise equal strings the one with more runs is newer.  <0, 0, >0. */
int cat_vercmp(const char *a, const char *b);

/* Problems in the catalog file itself, one human line each,
 * "FILE:LINE: IMAGE: problem".  Returns how many; *out is a NULL-terminated
 * array the caller frees (each string and the array; _cleanup_strv_). */
int cat_lint(const struct cat_catalog *cat, char ***out);

/* Append {tag, label, version, "tested": false} to key's versions, in the
 * style (one-line or multi-line, field order, spacing) of its last version.
 * label and version may be NULL.  Refuses a duplicate or invalid tag. */
int cat_add_version(struct cat_catalog *cat, const char *key, const char *tag,
                    const char *label, const char *version, oci_error *err);
/* Set "tested": true on key's version `tag` (inserted after "tag" when
 * absent).  Already tested: nothing is written. */
int cat_set_tested(struct cat_catalog *cat, const char *key, const char *tag,
                   oci_error *err);
/* Set field "minDiskSizeGb" or "dockerSizeGb" of key to value (≥ 0),
 * replacing only the number, or inserting the field after "package"
 * (dockerSizeGb after minDiskSizeGb when that exists). */
int cat_set_number(struct cat_catalog *cat, const char *key, const char *field,
                   int value, oci_error *err);

#endif
