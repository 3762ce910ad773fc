/* oci/mediatype.h: the media types ccreg understands. */
#ifndef CCREG_OCI_MEDIATYPE_H
#define CCREG_OCI_MEDIATYPE_H

#include <stdbool.h>

#define OCI_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define OCI_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define OCI_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"

#define OCI_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define OCI_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"

#define OCI_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define OCI_MT_DOCKER_LAYER_ZSTD "application/vnd.docker.image.rootfs.diff.tar.zstd"
#define OCI_MT_DOCKER_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define OCI_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define OCI_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define OCI_MT_OCI_LAYER_ND "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define OCI_MT_OCI_LAYER_ND_GZIP "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define OCI_MT_OCI_LAYER_ND_ZSTD "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

/* Accept header value listing all four manifest types. */
#define OCI_MANIFEST_ACCEPT                                                   \
	OCI_MT_OCI_INDEX ", " OCI_MT_DOCKER_LIST ", " OCI_MT_OCI_MANIFEST ", " \
	OCI_MT_DOCKER_MANIFEST

enum oci_compression { OCI_COMP_NONE, OCI_COMP_GZIP, OCI_COMP_ZSTD, OCI_COMP_UNKNOWN };

bool oci_mt_is_index(const char *mt);    /* OCI index or Docker list */
bool oci_mt_is_manifest(const char *mt); /* OCI or Docker schema2 image manifest */
bool oci_mt_is_docker(const char *mt);   /* any application/vnd.docker.* type */
bool oci_mt_is_foreign(const char *mt);  /* foreign / non-distributable layer */
/* Layer compression by media type (unknown types: OCI_COMP_UNKNOWN). */
enum oci_compression oci_mt_compression(const char *mt);

#endif
