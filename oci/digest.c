#include "oci/digest.h"
#include "oci/util.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


struct oci_hasher {
	EVP_MD_CTX *ctx;
	const char *algo;
};

struct algo {
	const char *name;
	size_t hexlen;
	const EVP_MD *(*md)(void);
};

static const struct algo algos[] = {
	{ "sha256", 64, EVP_sha256 },
	{ "sha512", 128, EVP_sha512 },
};

static const struct algo *algo_find(const char *name, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(algos); i++)
		if (strlen(algos[i].name) == n && memcmp(algos[i].name, name, n) == 0)
			return &algos[i];
	return NULL;
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_encoded_char(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '=' || c == '_' ||
	       c == '-';
}

/* algorithm ::= component (separator component)*, component ::= [a-z0-9]+ */
static bool algorithm_valid(const char *s, size_t n)
{
	bool need_component = true;
	for (size_t i = 0; i < n; i++) {
		if (is_lower_alnum(s[i])) {
			need_component = false;
		} else if (strchr("+._-", s[i]) && !need_component) {
			need_component = true;
		} else {
			return false;
		}
	}
	return !need_component;
}

int oci_digest_validate(const char *d, oci_error *err)
{
	if (!d || !*d)
		return oci_err(err, OCI_E_USAGE, "invalid digest \"\": empty");
	const char *colon = strchr(d, ':');
	if (!colon)
		return oci_err(err, OCI_E_USAGE,
		               "invalid digest \"%.200s\": missing \"algorithm:\" prefix", d);
	size_t alen = (size_t)(colon - d);
	if (!algorithm_valid(d, alen))
		return oci_err(err, OCI_E_USAGE, "invalid digest \"%.200s\": malformed algorithm",
		               d);
	const char *enc = colon + 1;
	if (!*enc)
		return oci_err(err, OCI_E_USAGE, "invalid digest \"%.200s\": empty encoded part",
		               d);
	for (const char *p = enc; *p; p++)
		if (!is_encoded_char(*p))
			return oci_err(err, OCI_E_USAGE,
			               "invalid digest \"%.200s\": invalid character in encoded part",
			               d);
	const struct algo *a = algo_find(d, alen);
	if (!a)
		return oci_err(err, OCI_E_USAGE,
		               "invalid digest \"%.200s\": unsupported algorithm \"%.*s\"", d,
		               (int)(alen > 40 ? 40 : alen), d);
	size_t n = strlen(enc);
	for (const char *p = enc; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return oci_err(err, OCI_E_USAGE,
			               "invalid digest \"%.200s\": %s needs lowercase hex", d,
			               a->name);
	if (n != a->hexlen)
		return oci_err(err, OCI_E_USAGE,
		               "invalid digest \"%.200s\": %s needs %zu hex characters", d,
		               a->name, a->hexlen);
	return 0;
}

oci_hasher *oci_hasher_new(const char *algo)
{
	const struct algo *a = algo_find(algo ? algo : "sha256", strlen(algo ? algo : "sha256"));
	if (!a)
		return NULL;
	oci_hasher *h = oci_xcalloc(1, sizeof *h);
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, a->md(), NULL) != 1) {
		EVP_MD_CTX_free(h->ctx);
		free(h);
		return NULL;
	}
	h->algo = a->name;
	return h;
}

oci_hasher *oci_hasher_for(const char *digest)
{
	if (!digest)
		return NULL;
	const char *colon = strchr(digest, ':');
	if (!colon)
		return NULL;
	const struct algo *a = algo_find(digest, (size_t)(colon - digest));
	return a ? oci_hasher_new(a->name) : NULL;
}

void oci_hasher_update(oci_hasher *h, const void *p, size_t n)
{
	if (n)
		EVP_DigestUpdate(h->ctx, p, n);
}

void oci_hasher_final(oci_hasher *h, char out[OCI_DIGEST_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";

	EVP_DigestFinal_ex(h->ctx, md, &mdlen);
	size_t o = (size_t)snprintf(out, OCI_DIGEST_MAX, "%s:", h->algo);
	for (unsigned int i = 0; i < mdlen && o + 2 < OCI_DIGEST_MAX; i++) {
		out[o++] = hex[md[i] >> 4];
		out[o++] = hex[md[i] & 15];
	}
	out[o] = '\0';
}

void oci_hasher_free(oci_hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void oci_digest_buf(const char *algo, const void *p, size_t n, char out[OCI_DIGEST_MAX])
{
	oci_hasher *h = oci_hasher_new(algo);
	if (!h) {
		out[0] = '\0';
		return;
	}
	oci_hasher_update(h, p, n);
	oci_hasher_final(h, out);
	oci_hasher_free(h);
}

bool oci_digest_matches(const char *digest, const void *p, size_t n)
{
	if (oci_digest_validate(digest, NULL) < 0)
		return false;
	oci_hasher *h = oci_hasher_for(digest);
	if (!h)
		return false;
	char got[OCI_DIGEST_MAX];
	oci_hasher_update(h, p, n);
	oci_hasher_final(h, got);
	oci_hasher_free(h);
	return strcmp(got, digest) == 0;
}

const char *oci_digest_hex(const char *d)
{
	const char *colon = d ? strchr(d, ':') : NULL;
	return colon ? colon + 1 : NULL;
}

bool oci_digest_matches_fd(const char *digest, int fd)
{
	oci_hasher *h = oci_hasher_for(digest);
	if (!h)
		return false;
	char buf[1 << 16], dg[OCI_DIGEST_MAX];
	off_t off = 0;
	ssize_t r;
	while ((r = pread(fd, buf, sizeof buf, off)) > 0 || (r < 0 && errno == EINTR)) {
		if (r > 0) {
			oci_hasher_update(h, buf, (size_t)r);
			off += r;
		}
	}
	oci_hasher_final(h, dg);
	oci_hasher_free(h);
	return r == 0 && strcmp(dg, digest) == 0;
}
