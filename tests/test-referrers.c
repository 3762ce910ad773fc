/* tests/test-referrers.c: the fallback tag name (registry/referrers.h) and
 * the subject and artifactType of manifests and indexes (oci/manifest.h). */
#include <stdlib.h>
#include <string.h>

#include "oci/manifest.h"
#include "oci/mediatype.h"
#include "registry/referrers.h"
#include "tests/tap.h"

#define H64 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void tag(const char *digest, const char *want)
{
	char *t = reg_referrers_tag(digest);
	is_str(t, want, digest);
	free(t);
}

int main(void)
{
	/* the distribution spec's examples: algorithm cut at 32, encoded at 64,
	 * characters a tag cannot hold as '-' */
	tag("sha256:" H64, "sha256-" H64);
	tag("sha512:" H64 H64, "sha512-" H64);
	tag("test+algorithm+using+algorithm+separators+and+lots+of+characters+to+excercise+"
	    "overall+truncation:alsoSome=InTheEncodedSectionToShowHyphenReplacementAndLotsAndLots"
	    "OfCharactersToExcerciseEncodedTruncation",
	    "test-algorithm-using-algorithm-s-alsoSome-InTheEncodedSectionToShowHyphenReplacementAndLotsAndLot");

	const char *man =
		"{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_OCI_MANIFEST "\","
		"\"artifactType\":\"application/spdx+json\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"sha256:"
		"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":2},"
		"\"layers\":[],"
		"\"subject\":{\"mediaType\":\"" OCI_MT_OCI_MANIFEST "\",\"digest\":\"sha256:" H64 "\",\"size\":7}}";
	struct oci_manifest m = { 0 };
	ok(oci_manifest_parse(&m, man, strlen(man), NULL, NULL) == 0, "a manifest with a subject parses");
	is_str(m.subject.digest, "sha256:" H64, "its subject's digest");
	is_int(m.subject.size, 7, "its subject's size");
	is_str(m.artifact_type, "application/spdx+json", "its artifactType");
	oci_manifest_release(&m);

	const char *ix =
		"{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_OCI_INDEX "\","
		"\"artifactType\":\"application/x-bundle\",\"manifests\":[],"
		"\"subject\":{\"mediaType\":\"" OCI_MT_OCI_INDEX "\",\"digest\":\"sha256:" H64 "\",\"size\":9}}";
	struct oci_index x = { 0 };
	ok(oci_index_parse(&x, ix, strlen(ix), NULL, NULL) == 0, "an index with a subject parses");
	is_str(x.subject.digest, "sha256:" H64, "its subject's digest");
	is_str(x.artifact_type, "application/x-bundle", "its artifactType");
	oci_index_release(&x);

	const char *bad = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"digest\":\"sha256:" H64
	                  "\",\"size\":1},\"layers\":[],\"subject\":{\"digest\":\"nope\"}}";
	ok(oci_manifest_parse(&m, bad, strlen(bad), OCI_MT_OCI_MANIFEST, NULL) < 0,
	   "a malformed subject is refused");
	oci_manifest_release(&m);
	return tap_done();
}
