/* tests/test-digest.c: digest validation and hashing (oci/digest.h). */
#include <stdlib.h>
#include <string.h>

#include "oci/digest.h"
#include "tests/tap.h"

#define EMPTY256 "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define EMPTY512                                                                 \
	"sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" \
	"47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
#define ABC256 "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define ABC512                                                                   \
	"sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" \
	"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

static const struct {
	const char *d;
	int valid;
	const char *msg; /* expected substring of the error */
} cases[] = {
	{ EMPTY256, 1, NULL },
	{ EMPTY512, 1, NULL },
	{ ABC256, 1, NULL },
	{ "sha256:abc", 0, "invalid digest \"sha256:abc\": sha256 needs 64 hex characters" },
	{ "sha256:" "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85", 0,
	  "needs 64 hex characters" },
	{ "sha256:" "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555", 0,
	  "needs 64 hex characters" },
	{ "sha256:" "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", 0,
	  "lowercase hex" },
	{ "sha256:" "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0,
	  "lowercase hex" },
	{ "sha512:abcd", 0, "sha512 needs 128 hex characters" },
	{ "md5:d41d8cd98f00b204e9800998ecf8427e", 0, "unsupported algorithm \"md5\"" },
	{ "sha384:abc", 0, "unsupported algorithm" },
	{ "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", 0, "unsupported" },
	{ "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0, "algorithm" },
	{ "", 0, "empty" },
	{ ":abc", 0, "malformed algorithm" },
	{ "SHA256:abc", 0, "malformed algorithm" },
	{ "sha256+:abc", 0, "malformed algorithm" },
	{ "sha256:", 0, "empty encoded" },
	{ "sha256:abc/def", 0, "invalid character" },
	{ "sha256:" "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ", 0,
	  "invalid character" },
};

int main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		oci_error err = { 0 };
		int r = oci_digest_validate(cases[i].d, &err);
		if (cases[i].valid) {
			ok(r == 0, "valid: %s", cases[i].d);
		} else {
			ok(r == -1 && err.code == OCI_E_USAGE && strstr(err.msg, cases[i].msg),
			   "invalid: \"%s\" -> %s", cases[i].d, err.msg);
		}
	}

	char out[OCI_DIGEST_MAX];
	oci_digest_buf("sha256", "", 0, out);
	is_str(out, EMPTY256, "sha256 of empty string");
	oci_digest_buf(NULL, "", 0, out);
	is_str(out, EMPTY256, "NULL algorithm means sha256");
	oci_digest_buf("sha512", "", 0, out);
	is_str(out, EMPTY512, "sha512 of empty string");
	oci_digest_buf("sha256", "abc", 3, out);
	is_str(out, ABC256, "sha256 of abc");
	oci_digest_buf("sha512", "abc", 3, out);
	is_str(out, ABC512, "sha512 of abc");
	ok(oci_hasher_new("md5") == NULL, "md5 hasher unsupported");
	ok(oci_hasher_for("nocolon") == NULL, "hasher_for without algorithm");
	ok(oci_hasher_for("sha1:abc") == NULL, "hasher_for unsupported algorithm");

	/* incremental over 1 MiB in odd chunks equals one-shot */
	size_t n = 1 << 20;
	unsigned char *buf = malloc(n);
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	const char *algos[] = { "sha256", "sha512" };
	for (size_t a = 0; a < 2; a++) {
		char one[OCI_DIGEST_MAX], inc[OCI_DIGEST_MAX];
		oci_digest_buf(algos[a], buf, n, one);
		oci_hasher *h = oci_hasher_new(algos[a]);
		for (size_t off = 0, step = 1; off < n; off += step, step = step * 3 + 1) {
			size_t k = step < n - off ? step : n - off;
			oci_hasher_update(h, buf + off, k);
		}
		oci_hasher_final(h, inc);
		oci_hasher_free(h);
		is_str(inc, one, algos[a]);
		ok(oci_digest_validate(one, NULL) == 0, "%s output validates", algos[a]);
		ok(oci_digest_matches(one, buf, n), "%s matches its data", algos[a]);
		buf[n / 2] ^= 1;
		ok(!oci_digest_matches(one, buf, n), "%s does not match changed data", algos[a]);
		buf[n / 2] ^= 1;
	}
	free(buf);

	oci_hasher *h = oci_hasher_for(EMPTY512);
	ok(h != NULL, "hasher_for sha512 digest");
	oci_hasher_update(h, "abc", 3);
	oci_hasher_final(h, out);
	oci_hasher_free(h);
	is_str(out, ABC512, "hasher_for picked sha512");
	h = oci_hasher_for(EMPTY256);
	oci_hasher_final(h, out);
	oci_hasher_free(h);
	is_str(out, EMPTY256, "hasher_for picked sha256");

	ok(oci_digest_matches(ABC256, "abc", 3), "matches abc sha256");
	ok(!oci_digest_matches("sha256:abc", "abc", 3), "invalid digest never matches");
	ok(!oci_digest_matches(ABC256, "abd", 3), "different data does not match");
	is_str(oci_digest_hex(ABC256), ABC256 + 7, "digest_hex");
	ok(oci_digest_hex("nocolon") == NULL, "digest_hex without colon");
	oci_hasher_free(NULL);
	return tap_done();
}
