#include "oci/mediatype.h"

#include <string.h>
#include <strings.h>

/* Compares a media type against `want`, ignoring case, surrounding blanks and
 * parameters (Content-Type values may carry "; charset=utf-8"). */
static bool mt_is(const char *mt, const char *want)
{
	if (!mt)
		return false;
	while (*mt == ' ' || *mt == '\t')
		mt++;
	size_t n = strcspn(mt, ";");
	while (n && (mt[n - 1] == ' ' || mt[n - 1] == '\t'))
		n--;
	return n == strlen(want) && strncasecmp(mt, want, n) == 0;
}

bool oci_mt_is_index(const char *mt)
{
	return mt_is(mt, OCI_MT_OCI_INDEX) || mt_is(mt, OCI_MT_DOCKER_LIST);
}

bool oci_mt_is_manifest(const char *mt)
{
	return mt_is(mt, OCI_MT_OCI_MANIFEST) || mt_is(mt, OCI_MT_DOCKER_MANIFEST);
}

bool oci_mt_is_docker(const char *mt)
{
	if (!mt)
		return false;
	mt += strspn(mt, " \t");
	return strncasecmp(mt, "application/vnd.docker.", 23) == 0;
}

bool oci_mt_is_foreign(const char *mt)
{
	return mt_is(mt, OCI_MT_DOCKER_LAYER_FOREIGN) || mt_is(mt, OCI_MT_OCI_LAYER_ND) ||
	       mt_is(mt, OCI_MT_OCI_LAYER_ND_GZIP) || mt_is(mt, OCI_MT_OCI_LAYER_ND_ZSTD);
}

enum oci_compression oci_mt_compression(const char *mt)
{
	static const struct {
		const char *mt;
		enum oci_compression c;
	} tab[] = {
		{ OCI_MT_DOCKER_LAYER_GZIP, OCI_COMP_GZIP },
		{ OCI_MT_DOCKER_LAYER_FOREIGN, OCI_COMP_GZIP },
		{ OCI_MT_DOCKER_LAYER_ZSTD, OCI_COMP_ZSTD },
		{ "application/vnd.docker.image.rootfs.diff.tar", OCI_COMP_NONE },
		{ OCI_MT_OCI_LAYER, OCI_COMP_NONE },
		{ OCI_MT_OCI_LAYER_GZIP, OCI_COMP_GZIP },
		{ OCI_MT_OCI_LAYER_ZSTD, OCI_COMP_ZSTD },
		{ OCI_MT_OCI_LAYER_ND, OCI_COMP_NONE },
		{ OCI_MT_OCI_LAYER_ND_GZIP, OCI_COMP_GZIP },
		{ OCI_MT_OCI_LAYER_ND_ZSTD, OCI_COMP_ZSTD },
	};
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (mt_is(mt, tab[i].mt))
			return tab[i].c;
	return OCI_COMP_UNKNOWN;
}
