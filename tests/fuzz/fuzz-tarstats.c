/* fuzz-tarstats: layer statistics (oci/layerstats.h) over arbitrary bytes,
 * fed in chunks as a registry GET would feed them.  The hint is "no
 * compression"; the stream's magic still decides, so gzip and zstd inputs
 * reach the decompressors too.
 *
 * Properties for an uncompressed input that is accepted: tar_bytes and
 * compressed_bytes are the input's length, the diff_id is its sha256, and
 * the per-kind counts add up to no more than the entries.
 */
#include "fuzz.h"
#include "oci/digest.h"
#include "oci/layerstats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	oci_error err = {0};
	struct oci_layer_stats st = {0};
	char diff_id[OCI_DIGEST_MAX];
	struct oci_layer *l = oci_layer_new(OCI_COMP_NONE, NULL, NULL);
	/* chunk sizes vary with the input so ring wrap-around is exercised */
	size_t chunk = (size % 7 + 1) * 97;

	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		FUZZ_ASSERT(oci_layer_feed(l, data + off, n, &err) == 0);
	}
	int rc = oci_layer_finish(l, &st, diff_id, &err);
	oci_layer_free(l);
	if (rc < 0) {
		FUZZ_ASSERT(err.code == OCI_E_REGISTRY && err.msg[0]);
		return 0;
	}
	FUZZ_ASSERT(st.compressed_bytes == (int64_t)size);
	FUZZ_ASSERT(st.files + st.dirs + st.symlinks + st.hardlinks + st.whiteouts +
	            st.opaque_dirs <= st.entries);
	FUZZ_ASSERT(st.file_bytes >= 0 && st.on_disk_bytes >= 0);
	bool compressed = size >= 2 && ((data[0] == 0x1f && data[1] == 0x8b) ||
	                                (size >= 4 && !memcmp(data, "\x28\xb5\x2f\xfd", 4)));
	if (!compressed) {
		char want[OCI_DIGEST_MAX];
		oci_digest_buf("sha256", data, size, want);
		FUZZ_ASSERT(st.tar_bytes == (int64_t)size);
		FUZZ_ASSERT(strcmp(diff_id, want) == 0);
	}
	return 0;
}
