/* registry/client.c: the client and its repositories, and the
 * distribution API operations (manifests, blobs, uploads, mounts, tags) on
 * top of transport.c, with auth.c plugged into it. */
#include <ctype.h>
#include <signal.h>
#include <string.h>
#include <strings.h>

#include "oci/bloblocs.h"
#include "oci/cleanup.h"
#include "oci/manifest.h"
#include "oci/mediatype.h"
#include "oci/text.h"
#include "registry/auth.h"
#include "registry/internal.h"
#include "registry/rangeget.h"
#include "oci/util.h"
#include "registry/transport.h"

void reg_global_init(void)
{
	/* a peer closing a connection or pipe must be an error, not a signal */
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void reg_global_cleanup(void)
{
	curl_global_cleanup();
}

const char *reg_versions(void)
{
	return curl_version();
}

/* --- client ----------------------------------------------------------------- */

struct reg_client *reg_client_new(const struct reg_options *o, oci_error *err)
{
	struct reg_client *c = oci_xcalloc(1, sizeof *c);
	c->o = *o;
	size_t n = 0;
	while (o->insecure_hosts && o->insecure_hosts[n])
		n++;
	c->insecure_hosts = oci_xcalloc(n + 1, sizeof *c->insecure_hosts);
	for (size_t i = 0; i < n; i++)
		c->insecure_hosts[i] = oci_xstrdup(o->insecure_hosts[i]);
	c->ca_file = oci_xstrdup(o->ca_file);
	c->auth_file = oci_xstrdup(o->auth_file);
	c->cache_dir = oci_xstrdup(o->cache_dir);
	c->o.insecure_hosts = NULL;
	c->o.ca_file = c->ca_file;
	c->o.auth_file = c->auth_file;
	c->o.cache_dir = c->cache_dir;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->blob_free, NULL);
	pthread_cond_init(&c->manifest_done, NULL);
	if (c->ca_file && access(c->ca_file, R_OK) != 0) {
		oci_err(err, OCI_E_USAGE, "%s: cannot read the CA file", c->ca_file);
		reg_client_free(c);
		return NULL;
	}
	c->mcache = oci_mcache_new(o->cache_dir, o->cache_max_bytes ? o->cache_max_bytes
	                                                            : oci_mcache_max_bytes());
	reg_transport_init(c);
	reg_auth_init(c);
	return c;
}

void reg_client_free(struct reg_client *c)
{
	if (!c)
		return;
	/* top down: auth's state hangs on transport's hosts */
	reg_auth_release(c);
	reg_transport_release(c);
	for (char **p = c->insecure_hosts; p && *p; p++)
		free(*p);
	free(c->insecure_hosts);
	free(c->ca_file);
	free(c->auth_file);
	oci_mcache_free(c->mcache);
	free(c->cache_dir);
	free(c->spans);
	free(c->blob_one.keys);
	free(c->manifest_one.keys);
	pthread_cond_destroy(&c->blob_free);
	pthread_cond_destroy(&c->manifest_done);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* --- rate limits ----------------------------------------------------------------- */

bool reg_client_ratelimit(struct reg_client *c, const char *host, struct reg_ratelimit *out)
{
	struct reg_host *hs = reg_host_get(c, host);
	pthread_mutex_lock(&c->lock);
	*out = hs->rl;
	pthread_mutex_unlock(&c->lock);
	return out->known || out->exhausted;
}

bool reg_repo_ratelimit(const struct reg_repo *r, struct reg_ratelimit *out)
{
	return reg_client_ratelimit(r->c, r->host, out);
}

void reg_ratelimit_describe(const struct reg_ratelimit *rl, char *buf, size_t n)
{
	char w[32] = "";
	long ws = rl->window_s;
	if (ws > 0 && ws % 3600 == 0)
		snprintf(w, sizeof w, " per %ld h", ws / 3600);
	else if (ws > 0 && ws % 60 == 0)
		snprintf(w, sizeof w, " per %ld min", ws / 60);
	else if (ws > 0)
		snprintf(w, sizeof w, " per %ld s", ws);
	long left = rl->exhausted ? 0 : rl->remaining;
	if (rl->limit >= 0)
		snprintf(buf, n, "%ld of %ld%s left", left < 0 ? 0 : left, rl->limit, w);
	else if (left >= 0)
		snprintf(buf, n, "%ld left%s", left, w);
	else
		snprintf(buf, n, "no pulls left");
}

/* The one message for a host whose pulls are spent; -1 with http_status 429. */
static int rate_limit_error(struct reg_repo *r, oci_error *err)
{
	struct reg_ratelimit rl;
	char d[96];
	reg_repo_ratelimit(r, &rl);
	reg_ratelimit_describe(&rl, d, sizeof d);
	oci_err(err, OCI_E_REGISTRY, "%s: pull rate limit reached (%s)", r->host, d);
	if (err)
		err->http_status = 429;
	return -1;
}

static bool pulls_spent(struct reg_repo *r)
{
	struct reg_ratelimit rl;
	reg_repo_ratelimit(r, &rl);
	return rl.exhausted;
}

/* --- single flight ---------------------------------------------------------------- */

bool reg_flights_has(const struct reg_flights *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->keys[i], key) == 0)
			return true;
	return false;
}

void reg_flights_add(struct reg_flights *f, const char *key)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 8;
		f->keys = oci_xrealloc(f->keys, f->cap * sizeof *f->keys);
	}
	f->keys[f->n++] = key;
}

void reg_flights_del(struct reg_flights *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->keys[i] == key) {
			f->keys[i] = f->keys[--f->n];
			return;
		}
}

/* --- the document cache ------------------------------------------------------------ */

/* kind's document d from the cache; false on a miss or without a cache. */
static bool cache_get(struct reg_client *c, const char *kind, const char *digest, size_t max,
                      struct oci_buf *out)
{
	if (!c->mcache || c->o.no_cache)
		return false;
	bool hit = oci_mcache_get(c->mcache, kind, digest, max, out);
	if (c->o.verbose > 1)
		reg_log(c, "cache %s: %s %s", hit ? "hit" : "miss", kind, digest);
	return hit;
}

static void cache_put(struct reg_client *c, const char *kind, const char *digest,
                      const void *data, size_t len)
{
	oci_error e = { 0 };
	pthread_mutex_lock(&c->lock);
	bool broken = c->cache_broken;
	pthread_mutex_unlock(&c->lock);
	if (!c->mcache || broken || oci_mcache_put(c->mcache, kind, digest, data, len, &e) == 0)
		return;
	pthread_mutex_lock(&c->lock);
	broken = c->cache_broken;
	c->cache_broken = true;
	pthread_mutex_unlock(&c->lock);
	if (!broken) /* said once: the run goes on without storing */
		reg_log(c, "cache %s unusable (%s); working without it", oci_mcache_dir(c->mcache), e.msg);
}

bool reg_cache_get(struct reg_repo *r, const char *kind, const char *digest, size_t max,
                   struct oci_buf *out)
{
	return cache_get(r->c, kind, digest, max, out);
}

void reg_cache_put(struct reg_repo *r, const char *kind, const char *digest, const void *data,
                   size_t len)
{
	cache_put(r->c, kind, digest, data, len);
}

/* --- repositories -------------------------------------------------------------- */

struct reg_repo *reg_repo_new(struct reg_client *c, const struct oci_ref *ref, bool push)
{
	struct reg_repo *r = oci_xcalloc(1, sizeof *r);
	r->c = c;
	r->domain = oci_xstrdup(ref->domain);
	r->host = oci_xstrdup(oci_ref_api_host(ref));
	r->path = oci_xstrdup(ref->path);
	r->name = oci_xasprintf("%s/%s", ref->domain, ref->path);
	r->scopes = oci_xasprintf("repository:%s:%s", ref->path, push ? "pull,push" : "pull");
	return r;
}

void reg_repo_free(struct reg_repo *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->host);
	free(r->path);
	free(r->name);
	free(r->scopes);
	free(r);
}

const char *reg_repo_name(const struct reg_repo *r)
{
	return r->name;
}

void reg_repo_add_pull_scope(struct reg_repo *r, const char *other_path)
{
	_cleanup_free_ char *s = oci_xasprintf("repository:%s:pull", other_path);
	struct reg_host *hs = reg_host_get(r->c, r->host);
	/* other threads may be reading r->scopes for a token: swap under the lock */
	pthread_mutex_lock(&r->c->lock);
	if (!reg_scopes_cover(r->scopes, s)) {
		char *n = reg_scopes_union(r->scopes, s);
		free(r->scopes);
		r->scopes = n;
	}
	reg_auth_hint_locked(hs, r->scopes);
	pthread_mutex_unlock(&r->c->lock);
}

bool reg_repo_same_registry(const struct reg_repo *a, const struct reg_repo *b)
{
	return strcmp(a->host, b->host) == 0;
}

/* --- errors ------------------------------------------------------------------- */

/* Turn a non-success response into an error: registry error bodies
 * ({"errors":[{"code","message"}]}) become "WHAT: message on HOST";
 * 401/403 give OCI_E_AUTH.  Always returns -1. */
static int reg_http_error(struct reg_repo *repo, const char *what,
                          const struct reg_response *resp, oci_error *err)
{
	char detail[512] = "";
	json_error_t jerr;
	_cleanup_json_ json_t *j = NULL;

	if (resp->body.len)
		j = json_loadb(resp->body.data, resp->body.len, 0, &jerr);
	json_t *errs = j ? json_object_get(j, "errors") : NULL;
	size_t i;
	json_t *e;
	json_array_foreach(errs, i, e) {
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "message"));
		size_t l = strlen(detail);
		snprintf(detail + l, sizeof detail - l, "%s%s", l ? "; " : "",
		         msg && *msg ? msg : code ? code : "error");
		if (i >= 2)
			break;
	}
	if (resp->status == 401 && resp->www_authenticate) {
		/* name what the token lacked rather than the generic "authentication required" */
		struct reg_challenge ch[4];
		int n = reg_parse_challenges(resp->www_authenticate, ch, 4);
		for (int k = 0; k < n; k++) {
			if (ch[k].error && strcmp(ch[k].error, "insufficient_scope") == 0 && ch[k].scope) {
				_cleanup_free_ char *sorted = reg_scopes_union(ch[k].scope, NULL);
				snprintf(detail, sizeof detail, "not authorized for %s", sorted);
			}
			reg_challenge_release(&ch[k]);
		}
	}
	if (!detail[0]) {
		switch (resp->status) {
		case 401: snprintf(detail, sizeof detail, "authentication required"); break;
		case 403: snprintf(detail, sizeof detail, "access denied"); break;
		case 404: snprintf(detail, sizeof detail, "not found"); break;
		case 429: snprintf(detail, sizeof detail, "too many requests"); break;
		default: snprintf(detail, sizeof detail, "HTTP %ld", resp->status);
		}
	}
	/* the server's words: no escape sequence, no secret it echoes back */
	char shown[sizeof detail];
	oci_text_escape_buf(detail, shown, sizeof shown);
	reg_redact(repo->c, shown);
	int code = resp->status == 401 || resp->status == 403 ? OCI_E_AUTH : OCI_E_REGISTRY;
	const char *hint = "";
	if (code == OCI_E_AUTH && reg_auth_anonymous(repo))
		hint = " (anonymous: no credentials found; use 'ccreg login' or --auth-file)";
	oci_err(err, code, "%s: %s on %s%s%s", what, shown, repo->host,
	        resp->status >= 500 ? " (server error)" : "", hint);
	if (err)
		err->http_status = (int)resp->status;
	return -1;
}

int reg_ping(struct reg_repo *r, oci_error *err)
{
	struct reg_request req = { .method = "GET", .url = "/v2/" };
	struct reg_response resp = { 0 };
	int rc = reg_http(r, &req, &resp, err);
	if (rc == 0 && resp.status != 200)
		rc = reg_http_error(r, r->host, &resp, err);
	reg_response_release(&resp);
	return rc;
}

struct reg_warm {
	struct reg_repo *r;
	pthread_t t;
};

static void *warm_main(void *arg)
{
	struct reg_warm *w = arg;
	struct reg_request req = { .method = "GET", .url = "/v2/", .no_auth = true, .no_retry = true };
	struct reg_response resp = { 0 };
	oci_error e = { 0 };
	reg_http(w->r, &req, &resp, &e);
	reg_response_release(&resp);
	return NULL;
}

struct reg_warm *reg_warm_start(struct reg_repo *r)
{
	struct reg_warm *w = oci_xcalloc(1, sizeof *w);
	w->r = r;
	if (pthread_create(&w->t, NULL, warm_main, w) != 0) {
		free(w);
		return NULL;
	}
	return w;
}

void reg_warm_finish(struct reg_warm *w)
{
	if (!w)
		return;
	pthread_join(w->t, NULL);
	free(w);
}

/* "path:tag" or "path@digest", for messages */
static char *what(struct reg_repo *r, const char *reference)
{
	bool dig = strchr(reference, ':') != NULL;
	return oci_xasprintf("%s%s%s", r->path, dig ? "@" : ":", reference);
}

static char *api_path(struct reg_repo *r, const char *kind, const char *reference)
{
	return oci_xasprintf("/v2/%s/%s/%s", r->path, kind, reference);
}

/* --- manifests ------------------------------------------------------------------ */

void reg_manifest_release(struct reg_manifest *m)
{
	free(m->data);
	free(m->media_type);
	free(m->digest);
	memset(m, 0, sizeof *m);
}

/* Content-Type without parameters ("; charset=utf-8"). */
static char *bare_type(const char *ct)
{
	if (!ct)
		return NULL;
	size_t n = strcspn(ct, ";");
	while (n && isspace((unsigned char)ct[n - 1]))
		n--;
	return oci_xstrndup(ct, n);
}

/* GET manifests/<reference> and check the bytes: against the digest asked
 * for, Docker-Content-Digest, and the digest a HEAD just gave (head_digest,
 * or NULL).  What arrives is stored in the cache. */
static int manifest_fetch(struct reg_repo *r, const char *reference, const char *head_digest,
                          struct reg_manifest *out, oci_error *err)
{
	_cleanup_free_ char *url = api_path(r, "manifests", reference);
	_cleanup_free_ char *w = what(r, reference);
	struct reg_request req = { .method = "GET", .url = url, .accept = OCI_MANIFEST_ACCEPT };
	struct reg_response resp = { 0 };
	int rc = -1;

	/* metered on Docker Hub: once it said no, asking again only waits */
	if (pulls_spent(r))
		return rate_limit_error(r, err);
	if (reg_http(r, &req, &resp, err) < 0) {
		oci_err_wrap(err, "%s", w);
		goto out;
	}
	if (resp.status != 200) {
		if (resp.status == 429 && pulls_spent(r))
			rate_limit_error(r, err);
		else
			reg_http_error(r, w, &resp, err);
		goto out;
	}
	bool by_digest = strchr(reference, ':') != NULL;
	const char *body = resp.body.data ? resp.body.data : "";
	char dg[OCI_DIGEST_MAX];
	if (by_digest) {
		if (!oci_digest_matches(reference, body, resp.body.len)) {
			oci_err(err, OCI_E_REGISTRY, "%s: digest mismatch: the manifest served by %s does not hash to %s",
			        w, r->host, reference);
			goto out;
		}
		snprintf(dg, sizeof dg, "%s", reference);
	} else {
		const char *named = head_digest ? head_digest : resp.docker_digest;
		oci_digest_buf(named && strncmp(named, "sha512:", 7) == 0 ? "sha512" : "sha256", body,
		               resp.body.len, dg);
	}
	if (resp.docker_digest && *resp.docker_digest && strcmp(resp.docker_digest, dg) != 0 &&
	    !oci_digest_matches(resp.docker_digest, body, resp.body.len)) {
		oci_err(err, OCI_E_REGISTRY,
		        "%s: digest mismatch: %s says Docker-Content-Digest %s but the bytes hash to %s",
		        w, r->host, resp.docker_digest, dg);
		goto out;
	}
	if (head_digest && strcmp(head_digest, dg) != 0 &&
	    !oci_digest_matches(head_digest, body, resp.body.len)) {
		oci_err(err, OCI_E_REGISTRY,
		        "%s: digest mismatch: a HEAD on %s said %s but the GET's bytes hash to %s",
		        w, r->host, head_digest, dg);
		goto out;
	}
	cache_put(r->c, OCI_MCACHE_MANIFESTS, dg, body, resp.body.len);
	out->data = resp.body.data ? TAKE_PTR(resp.body.data) : oci_xstrdup("");
	out->len = resp.body.len;
	out->media_type = bare_type(resp.content_type);
	out->digest = oci_xstrdup(dg);
	rc = 0;
out:
	reg_response_release(&resp);
	return rc;
}

/* The manifest digest from the cache.  Its media type: media_type (a HEAD's
 * Content-Type) when given, else the document's own (a document whose type
 * cannot be told is left to a GET). */
static bool manifest_cached(struct reg_repo *r, const char *digest, const char *media_type,
                            struct reg_manifest *out)
{
	struct oci_buf b = { 0 };
	char *mt = NULL;
	if (!cache_get(r->c, OCI_MCACHE_MANIFESTS, digest, REG_MAX_BODY, &b))
		return false;
	if (media_type && *media_type)
		mt = oci_xstrdup(media_type);
	else if (oci_doc_kind(b.data, b.len, NULL, &mt, NULL) == OCI_DOC_UNKNOWN) {
		oci_buf_release(&b);
		return false;
	}
	out->data = b.data;
	out->len = b.len;
	out->media_type = mt;
	out->digest = oci_xstrdup(digest);
	return true;
}

/* The tag's last known digest, as a hint (oci/mcache.h, OCI_MCACHE_TAGS). */
static char *tag_name(struct reg_repo *r, const char *tag)
{
	return oci_xasprintf("%s/%s:%s", r->host, r->path, tag);
}

static bool tag_known(struct reg_repo *r, const char *tag)
{
	_cleanup_free_ char *name = tag_name(r, tag);
	char dg[OCI_DIGEST_MAX];
	return oci_mcache_tag_get(r->c->mcache, name, dg);
}

static void tag_seen(struct reg_repo *r, const char *tag, const char *digest)
{
	_cleanup_free_ char *name = tag_name(r, tag);
	oci_error ignored = { 0 }; /* a hint that cannot be written is only a round trip */
	if (digest)
		(void)oci_mcache_tag_put(r->c->mcache, name, digest, &ignored);
}

/* The manifest digest from the cache, else a GET of reference for it
 * (head_digest: what a HEAD of the tag said, checked against the bytes),
 * one thread per digest at a time: tags that share a digest (verify and
 * status read many) cost one GET, a pull on Docker Hub, not one each. */
static int manifest_once(struct reg_repo *r, const char *reference, const char *digest,
                         const char *head_digest, const char *media_type,
                         struct reg_manifest *out, oci_error *err)
{
	struct reg_client *c = r->c;
	for (;;) {
		if (manifest_cached(r, digest, media_type, out))
			return 0;
		pthread_mutex_lock(&c->lock);
		bool mine = !reg_flights_has(&c->manifest_one, digest);
		if (mine)
			reg_flights_add(&c->manifest_one, digest);
		else /* then the cache again: empty if that GET failed */
			while (reg_flights_has(&c->manifest_one, digest))
				pthread_cond_wait(&c->manifest_done, &c->lock);
		pthread_mutex_unlock(&c->lock);
		if (mine)
			break;
	}
	int rc = manifest_fetch(r, reference, head_digest, out, err);
	pthread_mutex_lock(&c->lock);
	reg_flights_del(&c->manifest_one, digest);
	pthread_cond_broadcast(&c->manifest_done);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int manifest_get(struct reg_repo *r, const char *reference, bool head_first,
                        struct reg_manifest *out, oci_error *err)
{
	_cleanup_free_ char *hd = NULL, *hmt = NULL;
	bool by_digest = strchr(reference, ':') != NULL;

	memset(out, 0, sizeof *out);
	if (!r->c->mcache || r->c->o.no_cache)
		return manifest_fetch(r, reference, NULL, out, err);
	if (by_digest)
		return manifest_once(r, reference, reference, NULL, NULL, out, err);
	if (!head_first && !tag_known(r, reference)) {
		/* never seen: its bytes cannot be here, a HEAD would only cost
		 * a round trip (and the GET a pull, as it would after the HEAD) */
		if (manifest_fetch(r, reference, NULL, out, err) < 0)
			return -1;
		tag_seen(r, reference, out->digest);
		return 0;
	}
	/* a tag: HEAD (free on Docker Hub) for the digest, then the cache */
	int h = reg_manifest_head(r, reference, &hd, &hmt, NULL, err);
	if (h < 0 && err && !err->http_status)
		return -1; /* no answer at all: a GET would wait through the same retries */
	/* any status (a 404, a refusal, a registry without HEAD, a server error
	 * after retries): the GET says it in the registry's own words */
	oci_err_clear(err);
	if (h == 1 && hd && oci_digest_validate(hd, NULL) == 0) {
		tag_seen(r, reference, hd);
		return manifest_once(r, reference, hd, hd, hmt, out, err);
	} else if (h == 1) {
		reg_log(r->c, "%s: HEAD without Docker-Content-Digest; reading the manifest", r->name);
		free(hd);
		hd = NULL;
	}
	if (manifest_fetch(r, reference, NULL, out, err) < 0)
		return -1;
	if (!hd)
		tag_seen(r, reference, out->digest);
	return 0;
}

int reg_manifest_get(struct reg_repo *r, const char *reference, struct reg_manifest *out,
                     oci_error *err)
{
	return manifest_get(r, reference, false, out, err);
}

int reg_manifest_get_shared(struct reg_repo *r, const char *reference, struct reg_manifest *out,
                            oci_error *err)
{
	return manifest_get(r, reference, true, out, err);
}

int reg_manifest_head(struct reg_repo *r, const char *reference, char **digest,
                      char **media_type, int64_t *size, oci_error *err)
{
	_cleanup_free_ char *url = api_path(r, "manifests", reference);
	_cleanup_free_ char *w = what(r, reference);
	struct reg_request req = { .method = "HEAD", .url = url, .accept = OCI_MANIFEST_ACCEPT };
	struct reg_response resp = { 0 };
	int rc;

	if (reg_http(r, &req, &resp, err) < 0) {
		rc = oci_err_wrap(err, "%s", w);
	} else if (resp.status == 404) {
		rc = 0;
	} else if (resp.status != 200) {
		rc = reg_http_error(r, w, &resp, err);
	} else {
		if (digest)
			*digest = oci_xstrdup(resp.docker_digest);
		if (media_type)
			*media_type = bare_type(resp.content_type);
		if (size)
			*size = resp.content_length;
		rc = 1;
	}
	reg_response_release(&resp);
	return rc;
}

int reg_manifest_put(struct reg_repo *r, const char *reference, const char *media_type,
                     const void *data, size_t len, oci_error *err)
{
	return reg_manifest_put_subject(r, reference, media_type, data, len, NULL, err);
}

int reg_manifest_put_subject(struct reg_repo *r, const char *reference, const char *media_type,
                             const void *data, size_t len, bool *subject_indexed, oci_error *err)
{
	_cleanup_free_ char *url = api_path(r, "manifests", reference);
	_cleanup_free_ char *w = what(r, reference);
	struct reg_request req = {
		.method = "PUT", .url = url, .content_type = media_type,
		.body = data ? data : "", .body_len = len,
	};
	struct reg_response resp = { 0 };
	int rc = 0;
	if (reg_http(r, &req, &resp, err) < 0)
		rc = oci_err_wrap(err, "%s", w);
	else if (resp.status != 201 && resp.status != 200)
		rc = reg_http_error(r, w, &resp, err);
	if (rc == 0 && subject_indexed)
		*subject_indexed = resp.oci_subject && *resp.oci_subject;
	reg_response_release(&resp);
	return rc;
}

int reg_manifest_delete(struct reg_repo *r, const char *digest, oci_error *err)
{
	_cleanup_free_ char *url = api_path(r, "manifests", digest);
	_cleanup_free_ char *w = what(r, digest);
	struct reg_request req = { .method = "DELETE", .url = url };
	struct reg_response resp = { 0 };
	int rc = 0;
	if (reg_http(r, &req, &resp, err) < 0)
		rc = oci_err_wrap(err, "%s", w);
	else if (resp.status != 202 && resp.status != 200)
		rc = reg_http_error(r, w, &resp, err);
	reg_response_release(&resp);
	return rc;
}

/* --- blobs ------------------------------------------------------------------------ */

/* The blob is in r now (known blob locations). */
static void seen(struct reg_repo *r, const char *digest)
{
	oci_bloblocs_put(r->c->cache_dir, digest, r->host, r->path);
}

char **reg_blob_locations(struct reg_repo *r, const char *digest)
{
	if (r->c->o.no_cache)
		return NULL;
	return oci_bloblocs_get(r->c->cache_dir, digest, r->host, r->path);
}

void reg_blob_location_stale(struct reg_repo *r, const char *digest, const char *path)
{
	oci_bloblocs_forget(r->c->cache_dir, digest, r->host, path);
}

int reg_blob_head(struct reg_repo *r, const char *digest, int64_t *size, oci_error *err)
{
	_cleanup_free_ char *url = api_path(r, "blobs", digest);
	_cleanup_free_ char *w = what(r, digest);
	struct reg_request req = { .method = "HEAD", .url = url };
	struct reg_response resp = { 0 };
	int rc;

	if (reg_http(r, &req, &resp, err) < 0)
		rc = oci_err_wrap(err, "%s", w);
	else if (resp.status == 404)
		rc = 0;
	else if (resp.status >= 300 && resp.status < 400)
		rc = 1; /* a redirect to storage means the blob exists */
	else if (resp.status != 200)
		rc = reg_http_error(r, w, &resp, err);
	else {
		if (size)
			*size = resp.content_length;
		rc = 1;
	}
	if (rc == 1)
		seen(r, digest);
	reg_response_release(&resp);
	return rc;
}

struct blob_get {
	reg_sink_fn sink;
	void *ud;
	oci_hasher *h;
	int64_t got;  /* verified-stream bytes passed to the user's sink */
	int64_t skip; /* bytes to drop (a server that ignored our Range) */
	int64_t limit; /* bytes the blob may have (-1: what the response declares) */
	bool exact;    /* and must have */
	const struct reg_response *resp; /* of the request under way */
	int64_t range_from;              /* where that request asked to start */
};

static int blob_sink(void *ud, const void *p, size_t n, oci_error *err)
{
	struct blob_get *b = ud;
	const char *s = p;
	if (b->range_from && b->resp->status == 200) {
		/* the server ignored Range and sent the whole blob again */
		b->skip = b->range_from;
		b->range_from = 0;
	}
	if (b->skip) {
		size_t d = (size_t)b->skip < n ? (size_t)b->skip : n;
		b->skip -= (int64_t)d;
		s += d;
		n -= d;
	}
	if (!n)
		return 0;
	if (b->limit < 0 && b->got == 0) {
		/* no size given: the response must declare one, or a server
		 * streaming without end would be followed to the end of the disk */
		if (b->resp->content_length < 0)
			return oci_err(err, OCI_E_REGISTRY,
			               "the registry declares no size for the blob (no Content-Length); "
			               "a maximum size must be given");
		b->limit = b->resp->content_length;
	}
	if (b->limit >= 0 && b->got + (int64_t)n > b->limit)
		return oci_err(err, OCI_E_REGISTRY, "blob is larger than %s (%lld bytes)",
		               b->exact ? "its size says" : "allowed", (long long)b->limit);
	oci_hasher_update(b->h, s, n);
	b->got += (int64_t)n;
	return b->sink(b->ud, s, n, err);
}

static bool same_origin(const char *a, const char *b)
{
	/* scheme://host[:port] prefix equality */
	const char *pa = strstr(a, "://"), *pb = strstr(b, "://");
	if (!pa || !pb)
		return false;
	size_t la = (size_t)(pa - a) + 3 + strcspn(pa + 3, "/?#");
	size_t lb = (size_t)(pb - b) + 3 + strcspn(pb + 3, "/?#");
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* GET a blob URL following redirects by hand: Authorization goes only to
 * the registry itself, never to the storage or CDN host it redirects to. */
int reg_blob_fetch(struct reg_repo *r, const char *path, const char *range, reg_sink_fn sink,
                   void *ud, struct reg_response *resp, struct reg_blob_loc *loc,
                   oci_error *err)
{
	_cleanup_free_ char *url = oci_xstrdup(loc && loc->url ? loc->url : path);
	_cleanup_free_ char *base = NULL; /* the registry's own URL */
	_cleanup_free_ char *rangeh = range ? oci_xasprintf("Range: %s", range) : NULL;
	const char *hdrs[] = { rangeh, NULL };
	bool foreign = loc && loc->url ? loc->foreign : false;

	for (int hop = 0; hop < 6; hop++) {
		struct reg_request req = {
			.method = "GET", .url = url, .headers = rangeh ? hdrs : NULL,
			.sink = sink, .sink_ud = ud, .blob_timeout = true, .no_retry = true,
			.no_auth = foreign,
		};
		if (loc && loc->url != url) {
			free(loc->url);
			loc->url = oci_xstrdup(url);
			loc->foreign = foreign;
		}
		if (reg_http(r, &req, resp, err) < 0)
			return -1;
		if (resp->status < 300 || resp->status >= 400 || !resp->location)
			return 0;
		/* only now is the scheme known (on first contact the request
		 * itself decided it): a base taken before would call a redirect
		 * to the same plain-HTTP registry foreign and drop credentials */
		if (!base)
			base = reg_resolve_url(r, path, "blob URL", NULL);
		char *next = reg_resolve_url(r, resp->location, "Location", err);
		if (!next)
			return -1;
		foreign = !base || !same_origin(next, base);
		if (r->c->o.verbose) {
			_cleanup_free_ char *shown = reg_redact_url(next);
			reg_log(r->c, "redirected to %s%s", shown,
			        foreign ? " (no registry credentials sent)" : "");
		}
		free(url);
		url = next;
	}
	return oci_err(err, OCI_E_REGISTRY, "%s: too many redirects", r->host);
}

/* One pass over the blob: ranges when it is big, then one stream (with
 * Range resumes) for whatever is left.  Fills b->got and b->h. */
static int blob_get_once(struct reg_repo *r, const char *url, const char *w, int64_t expected_size,
                         struct blob_get *b, oci_error *err)
{
	int max_retries = r->c->o.max_retries ? r->c->o.max_retries : 4;
	if (expected_size > 0) {
		int64_t delivered = 0; /* blob_sink counts b->got itself */
		int rrc = reg_ranged_get(r, url, w, expected_size, blob_sink, b, &delivered, err);
		if (rrc <= 0)
			return rrc;
		oci_err_clear(err);
	}
	for (int attempt = 0;; attempt++) {
		struct reg_response resp = { 0 };
		_cleanup_free_ char *range = b->got ? oci_xasprintf("bytes=%lld-", (long long)b->got) : NULL;
		int64_t before = b->got;
		b->resp = &resp;
		b->range_from = before;
		b->skip = 0;
		int frc = reg_blob_fetch(r, url, range, blob_sink, b, &resp, NULL, err);
		b->range_from = 0;
		if (frc == 0 && resp.status != 200 && resp.status != 206) {
			if ((resp.status == 429 || resp.status >= 502) && attempt < max_retries) {
				/* wait as reg_http would (Retry-After, backoff): an
				 * immediate retry only spends the attempts */
				long ms = reg_backoff(r->c, attempt, resp.retry_after);
				reg_log(r->c, "%s answered %ld; retried after %ld ms", r->host, resp.status, ms);
				reg_response_release(&resp);
				continue;
			}
			reg_http_error(r, w, &resp, err);
			reg_response_release(&resp);
			return -1;
		}
		if (frc == 0) {
			reg_response_release(&resp);
			return 0;
		}
		/* transport failure (not our sink's refusal): resume where it stopped */
		bool retry = resp.curl_code != CURLE_OK && resp.curl_code != CURLE_WRITE_ERROR &&
		             attempt < max_retries;
		reg_response_release(&resp);
		if (!retry)
			return oci_err_wrap(err, "%s", w);
		oci_err_clear(err);
		if (expected_size >= 0 && b->got == expected_size)
			return 0; /* every byte came before the break: a Range would get 416 */
		if (b->got == before)
			reg_backoff(r->c, attempt, NULL); /* no progress: do not hammer */
		reg_log(r->c, "%s: resuming at byte %lld", w, (long long)b->got);
	}
}

/* limit: the blob's size (exact), or the most it may have (-1: what the
 * response declares).  The caller holds a blob GET slot. */
static int blob_get_held(struct reg_repo *r, const char *digest, int64_t limit, bool exact,
                         reg_sink_fn sink, reg_restart_fn restart, void *ud, oci_error *err)
{
	int64_t expected_size = exact ? limit : -1;
	_cleanup_free_ char *url = api_path(r, "blobs", digest);
	_cleanup_free_ char *w = what(r, digest);
	int rc = -1;

	if (oci_digest_validate(digest, err) < 0)
		return oci_err_wrap(err, "%s", r->name);
	/* a blob whose bytes are wrong (a bad CDN edge or proxy) is fetched
	 * again from zero, twice, when the consumer can start over */
	for (int round = 0;; round++) {
		struct blob_get b = { .sink = sink, .ud = ud, .limit = limit, .exact = exact };
		b.h = oci_hasher_for(digest);
		rc = blob_get_once(r, url, w, expected_size, &b, err);
		char dg[OCI_DIGEST_MAX];
		oci_hasher_final(b.h, dg);
		oci_hasher_free(b.h);
		if (rc < 0)
			break;
		if (strcmp(dg, digest) != 0)
			rc = oci_err(err, OCI_E_REGISTRY,
			             "%s: digest mismatch: the blob served by %s hashes to %s", w, r->host, dg);
		else if (expected_size >= 0 && b.got != expected_size)
			rc = oci_err(err, OCI_E_REGISTRY, "%s: size mismatch: got %lld bytes, expected %lld",
			             w, (long long)b.got, (long long)expected_size);
		if (rc == 0 || !restart || round >= 2)
			break;
		reg_log(r->c, "%s; fetching it again from the start", err ? err->msg : w);
		oci_err_clear(err);
		if (restart(ud, err) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0)
		seen(r, digest);
	return rc;
}

static int blob_get(struct reg_repo *r, const char *digest, int64_t limit, bool exact,
                    reg_sink_fn sink, reg_restart_fn restart, void *ud, oci_error *err)
{
	/* a small blob of known size is a small request: no slot */
	bool small = exact && limit >= 0 && limit <= REG_SMALL_BLOB;
	if (!small)
		reg_blob_slots_enter(r->c, NULL);
	int rc = blob_get_held(r, digest, limit, exact, sink, restart, ud, err);
	if (!small)
		reg_blob_slots_leave(r->c, 1, NULL);
	return rc;
}

int reg_blob_get_restart(struct reg_repo *r, const char *digest, int64_t expected_size,
                         reg_sink_fn sink, reg_restart_fn restart, void *ud, oci_error *err)
{
	return blob_get(r, digest, expected_size, expected_size >= 0, sink, restart, ud, err);
}

int reg_blob_get(struct reg_repo *r, const char *digest, int64_t expected_size,
                 reg_sink_fn sink, void *ud, oci_error *err)
{
	return blob_get(r, digest, expected_size, expected_size >= 0, sink, NULL, ud, err);
}

int reg_blob_get_max(struct reg_repo *r, const char *digest, int64_t max_size, reg_sink_fn sink,
                     void *ud, oci_error *err)
{
	return blob_get(r, digest, max_size, false, sink, NULL, ud, err);
}

struct mem_get {
	struct oci_buf *b;
	size_t max;
};

static int mem_sink(void *ud, const void *p, size_t n, oci_error *err)
{
	struct mem_get *m = ud;
	if (m->b->len + n > m->max)
		return oci_err(err, OCI_E_REGISTRY, "blob larger than %zu MiB", m->max >> 20);
	oci_buf_append(m->b, p, n);
	return 0;
}

static int mem_restart(void *ud, oci_error *err)
{
	(void)err;
	((struct mem_get *)ud)->b->len = 0;
	return 0;
}

/* The blob from the cache into out when it is there whole; else out empty. */
static bool blob_cached(struct reg_client *c, const char *kind, const char *digest, int64_t size,
                        size_t max, struct oci_buf *out)
{
	if (cache_get(c, kind, digest, max, out) && (size < 0 || out->len == (size_t)size))
		return true;
	oci_buf_release(out);
	return false;
}

int reg_blob_get_cached(struct reg_repo *r, const char *kind, const char *digest, int64_t size,
                        size_t max, struct oci_buf *out, oci_error *err)
{
	struct reg_client *c = r->c;
	/* content-addressed: the cache answers for any repository */
	if (blob_cached(c, kind, digest, size, max, out))
		return 0;
	/* with a cache to answer, readers of one digest wait for the GET
	 * under way and look again, as after any wait for a slot: another
	 * thread may have brought the blob meanwhile */
	const char *one = c->mcache && !c->o.no_cache ? digest : NULL;
	int rc = 0;
	if (!reg_blob_slots_enter(c, one) || !blob_cached(c, kind, digest, size, max, out)) {
		struct mem_get m = { out, max };
		rc = blob_get_held(r, digest, size, size >= 0, mem_sink, mem_restart, &m, err);
		if (rc == 0) {
			if (!out->data)
				oci_buf_append(out, "", 0);
			/* before the slot goes: the readers waiting look next */
			cache_put(c, kind, digest, out->data, out->len);
		} else {
			oci_buf_release(out);
		}
	}
	reg_blob_slots_leave(c, 1, one);
	return rc;
}

struct range_buf {
	char *p;
	size_t cap, len;
};

static int range_sink(void *ud, const void *p, size_t n, oci_error *err)
{
	struct range_buf *rb = ud;
	if (rb->len + n > rb->cap)
		n = rb->cap - rb->len; /* a server that ignores Range: keep the head only */
	memcpy(rb->p + rb->len, p, n);
	rb->len += n;
	(void)err;
	return 0;
}

int reg_blob_get_range(struct reg_repo *r, const char *digest, int64_t off, size_t len,
                       void *buf, size_t *got, oci_error *err)
{
	_cleanup_free_ char *url = api_path(r, "blobs", digest);
	_cleanup_free_ char *w = what(r, digest);
	_cleanup_free_ char *range = oci_xasprintf("bytes=%lld-%lld", (long long)off,
	                                           (long long)(off + (int64_t)len - 1));
	struct range_buf rb = { .p = buf, .cap = len };
	struct reg_response resp = { 0 };
	int rc = 0;

	reg_blob_slots_enter(r->c, NULL);
	if (reg_blob_fetch(r, url, range, range_sink, &rb, &resp, NULL, err) < 0)
		rc = oci_err_wrap(err, "%s", w);
	else if (resp.status != 206)
		rc = resp.status == 200 ? oci_err(err, OCI_E_REGISTRY, "%s: %s ignored the Range request", w, r->host)
		                        : reg_http_error(r, w, &resp, err);
	reg_blob_slots_leave(r->c, 1, NULL);
	*got = rb.len;
	reg_response_release(&resp);
	return rc;
}

/* --- uploads ---------------------------------------------------------------------- */

static int upload_start(struct reg_repo *r, const char *query, struct reg_response *resp,
                        oci_error *err)
{
	_cleanup_free_ char *url = oci_xasprintf("/v2/%s/blobs/uploads/%s", r->path, query ? query : "");
	struct reg_request req = { .method = "POST", .url = url };
	if (reg_http(r, &req, resp, err) < 0)
		return oci_err_wrap(err, "%s: starting an upload", r->name);
	return 0;
}

/* location: an absolute URL (resolved when the registry sent it). */
static char *with_digest(const char *location, const char *digest)
{
	const char *abs = location;
	CURLU *u = curl_url();
	char *out = NULL, *res;
	_cleanup_free_ char *q = oci_xasprintf("digest=%s", digest);
	if (curl_url_set(u, CURLUPART_URL, abs, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK) {
		res = oci_xstrdup(out);
		curl_free(out);
	} else
		res = oci_xasprintf("%s%sdigest=%s", abs, strchr(abs, '?') ? "&" : "?", digest);
	curl_url_cleanup(u);
	return res;
}

struct counted_src {
	reg_source_fn src;
	reg_rewind_fn rewind;
	void *ud;
	oci_hasher *h; /* when the digest is computed on the way */
	int64_t n;
	int64_t limit; /* bytes this chunk may take (-1: all) */
	bool eof;
};

static ssize_t counted_read(void *ud, void *buf, size_t n, oci_error *err)
{
	struct counted_src *s = ud;
	if (s->limit >= 0 && (int64_t)n > s->limit - s->n)
		n = (size_t)(s->limit - s->n);
	if (!n)
		return 0;
	ssize_t got = s->src(s->ud, buf, n, err);
	if (got > 0) {
		if (s->h)
			oci_hasher_update(s->h, buf, (size_t)got);
		s->n += got;
	} else if (got == 0)
		s->eof = true;
	return got;
}

static int counted_rewind(void *ud)
{
	struct counted_src *s = ud;
	if (!s->rewind || s->rewind(s->ud) < 0)
		return -1;
	s->n = 0;
	s->eof = false;
	return 0;
}

/* Chunked upload: PATCH pieces of `chunk` bytes with Content-Range, following
 * the Location each answer gives; the source cannot be rewound per chunk,
 * so a failed PATCH fails the upload. */
static int upload_chunked(struct reg_repo *r, char **location, struct counted_src *cs,
                          int64_t size, int64_t chunk, oci_error *err)
{
	int64_t off = 0;
	while (size < 0 || off < size) {
		int64_t len = size < 0 ? chunk : (size - off < chunk ? size - off : chunk);
		struct counted_src piece = { .src = counted_read, .ud = cs, .limit = len };
		_cleanup_free_ char *crange = oci_xasprintf("Content-Range: %lld-%lld",
		                                            (long long)off, (long long)(off + len - 1));
		const char *hdrs[] = { crange, NULL };
		int64_t before = cs->n;
		struct reg_request req = {
			.method = "PATCH", .url = *location, .headers = size >= 0 ? hdrs : NULL,
			.src = counted_read, .src_ud = &piece, .src_len = size >= 0 ? len : -1,
			.blob_timeout = true, .no_retry = true,
		};
		struct reg_response resp = { 0 };
		if (reg_http(r, &req, &resp, err) < 0) {
			reg_response_release(&resp);
			return oci_err_wrap(err, "%s: uploading", r->name);
		}
		if (resp.status != 202 && resp.status != 204) {
			reg_http_error(r, "blob upload", &resp, err);
			reg_response_release(&resp);
			return -1;
		}
		if (resp.location) {
			free(*location);
			*location = reg_resolve_url(r, resp.location, "Location", err);
			if (!*location) {
				reg_response_release(&resp);
				return -1;
			}
		}
		reg_response_release(&resp);
		off += cs->n - before;
		if (cs->eof || cs->n == before)
			break;
	}
	return 0;
}

static int upload_finish(struct reg_repo *r, const char *location, const char *digest,
                         const struct reg_request *body, oci_error *err)
{
	_cleanup_free_ char *url = with_digest(location, digest);
	struct reg_request req = body ? *body : (struct reg_request){ 0 };
	req.method = "PUT";
	req.url = url;
	req.blob_timeout = true;
	struct reg_response resp = { 0 };
	int rc = 0;
	if (reg_http(r, &req, &resp, err) < 0)
		rc = oci_err_wrap(err, "%s: uploading %s", r->name, digest);
	else if (resp.status != 201 && resp.status != 204)
		rc = reg_http_error(r, digest, &resp, err);
	else
		seen(r, digest);
	if (rc < 0 && err)
		err->http_status = (int)resp.status;
	reg_response_release(&resp);
	return rc;
}

#define REG_CHUNK (64LL << 20)
#define REG_MIN_CHUNK (1LL << 20)

int reg_blob_upload(struct reg_repo *r, const char *digest, int64_t size, reg_source_fn src,
                    reg_rewind_fn rewind, void *ud, oci_error *err)
{
	struct reg_response resp = { 0 };
	_cleanup_free_ char *loc = NULL;
	struct counted_src cs = { .src = src, .rewind = rewind, .ud = ud, .limit = -1 };
	struct reg_request body = {
		.src = counted_read, .rewind = rewind ? counted_rewind : NULL, .src_ud = &cs,
		.src_len = size, .content_type = "application/octet-stream",
	};

	for (int attempt = 0;; attempt++) {
		if (upload_start(r, NULL, &resp, err) < 0)
			goto fail;
		if (resp.status != 202 || !resp.location) {
			reg_http_error(r, "starting a blob upload", &resp, err);
			goto fail;
		}
		free(loc);
		if (!(loc = reg_resolve_url(r, resp.location, "Location", err)))
			goto fail;
		reg_response_release(&resp);
		if (upload_finish(r, loc, digest, &body, err) == 0)
			return 0;
		/* A body broken off (reset, stall) can leave the session holding
		 * part of it; a PUT to it again is then refused ("blob upload
		 * invalid", 404).  Start a new session for another try. */
		int st = err ? err->http_status : 0;
		if ((st != 0 && st != 404) || (err && err->code != OCI_E_REGISTRY) || !rewind ||
		    attempt >= 2 || counted_rewind(&cs) < 0)
			break;
		reg_log(r->c, "%s: upload of %s failed (%s); starting a new upload", r->name, digest,
		        err ? err->msg : "error");
		reg_backoff(r->c, attempt, NULL);
		oci_err_clear(err);
	}
	/* Some registries refuse large single requests (413, or a proxy's limit):
	 * start over with chunked PATCHes when the source can be replayed. */
	int status = err ? err->http_status : 0;
	if (!(status == 413 || status == 400 || status == 416) || !rewind || counted_rewind(&cs) < 0)
		return -1;
	/* The limit is unknown: a chunk refused as too large (413) starts the
	 * upload over with chunks 8 times smaller (64 MiB, 8 MiB, 1 MiB). */
	for (int64_t chunk = REG_CHUNK;; chunk /= 8) {
		oci_err_clear(err);
		reg_log(r->c, "%s: upload refused (HTTP %d); uploading in chunks of %lld bytes",
		        r->name, status, (long long)chunk);
		if (upload_start(r, NULL, &resp, err) < 0 || resp.status != 202 || !resp.location) {
			if (!err || !err->code)
				reg_http_error(r, "starting a blob upload", &resp, err);
			goto fail;
		}
		free(loc);
		if (!(loc = reg_resolve_url(r, resp.location, "Location", err)))
			goto fail;
		reg_response_release(&resp);
		if (upload_chunked(r, &loc, &cs, size, chunk, err) == 0)
			return upload_finish(r, loc, digest, NULL, err);
		status = err ? err->http_status : 0;
		if (status != 413 || chunk / 8 < REG_MIN_CHUNK || counted_rewind(&cs) < 0)
			return -1;
	}
fail:
	reg_response_release(&resp);
	return -1;
}

int reg_blob_upload_stream(struct reg_repo *r, reg_source_fn src, void *ud,
                           char digest_out[OCI_DIGEST_MAX], int64_t *size_out, oci_error *err)
{
	struct reg_response resp = { 0 };
	_cleanup_free_ char *loc = NULL;
	struct counted_src cs = { .src = src, .ud = ud, .limit = -1, .h = oci_hasher_new("sha256") };
	int rc = -1;

	if (upload_start(r, NULL, &resp, err) < 0)
		goto out;
	if (resp.status != 202 || !resp.location) {
		reg_http_error(r, "starting a blob upload", &resp, err);
		goto out;
	}
	if (!(loc = reg_resolve_url(r, resp.location, "Location", err)))
		goto out;
	reg_response_release(&resp);
	/* one streamed PATCH (chunked transfer encoding), digest computed on the way */
	if (upload_chunked(r, &loc, &cs, -1, INT64_MAX / 2, err) < 0)
		goto out;
	oci_hasher_final(cs.h, digest_out);
	*size_out = cs.n;
	rc = upload_finish(r, loc, digest_out, NULL, err);
out:
	reg_response_release(&resp);
	oci_hasher_free(cs.h);
	return rc;
}

int reg_blob_mount(struct reg_repo *r, const char *digest, const char *from_path,
                   oci_error *err)
{
	char *m = curl_easy_escape(NULL, digest, 0), *f = curl_easy_escape(NULL, from_path, 0);
	_cleanup_free_ char *q = oci_xasprintf("?mount=%s&from=%s", m, f);
	curl_free(m);
	curl_free(f);
	reg_repo_add_pull_scope(r, from_path);
	struct reg_response resp = { 0 };
	int rc;
	if (upload_start(r, q, &resp, err) < 0)
		rc = -1;
	else if (resp.status == 201) {
		reg_log(r->c, "%s: %s mounted from %s", r->name, digest, from_path);
		seen(r, digest);
		rc = 1;
	} else if (resp.status == 202) {
		/* the registry opened an upload instead: cancel it, the caller uploads */
		_cleanup_free_ char *loc =
			resp.location ? reg_resolve_url(r, resp.location, "Location", NULL) : NULL;
		if (loc) {
			struct reg_request del = { .method = "DELETE", .url = loc };
			struct reg_response dr = { 0 };
			oci_error ignored = { 0 };
			reg_http(r, &del, &dr, &ignored);
			reg_response_release(&dr);
		}
		rc = 0;
	} else
		rc = reg_http_error(r, "mounting a blob", &resp, err);
	reg_response_release(&resp);
	return rc;
}

/* --- tags ---------------------------------------------------------------------------- */

char *reg_link_next(const char *link)
{
	/* Link: <url>; rel="next", <url2>; rel="prev" */
	const char *p = link;
	while (p && *p) {
		const char *lt = strchr(p, '<');
		if (!lt)
			return NULL;
		const char *gt = strchr(lt, '>');
		if (!gt)
			return NULL;
		const char *end = gt + 1;
		/* parameters up to the next comma that starts a new link */
		const char *next = strchr(end, '<');
		size_t plen = next ? (size_t)(next - end) : strlen(end);
		_cleanup_free_ char *params = oci_xstrndup(end, plen);
		for (char *c = params; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		char *rel = strstr(params, "rel=");
		if (rel) {
			rel += 4;
			if (*rel == '"')
				rel++;
			/* rel may list several space-separated types */
			size_t rl = strcspn(rel, "\";,");
			_cleanup_free_ char *rels = oci_xstrndup(rel, rl);
			char *save = NULL;
			for (char *t = strtok_r(rels, " ", &save); t; t = strtok_r(NULL, " ", &save))
				if (strcmp(t, "next") == 0)
					return oci_xstrndup(lt + 1, (size_t)(gt - lt - 1));
		}
		p = next;
	}
	return NULL;
}

/* FNV-1a: pages already read are remembered by the hash of their URL. */
static uint64_t url_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

int reg_tags_each(struct reg_repo *r, reg_tags_fn fn, void *ud, oci_error *err)
{
	_cleanup_free_ char *url = oci_xasprintf("/v2/%s/tags/list?n=100", r->path);
	_cleanup_free_ uint64_t *seen = oci_xcalloc(REG_TAGS_MAX_PAGES, sizeof *seen);
	int64_t total = 0;
	int rc = 0;

	for (size_t page = 0; url && rc == 0; page++) {
		uint64_t h = url_hash(url);
		for (size_t k = 0; k < page; k++)
			if (seen[k] == h)
				return oci_err(err, OCI_E_REGISTRY,
				               "%s: listing tags: %s's Link header leads back to a page "
				               "already read",
				               r->name, r->host);
		if (page == REG_TAGS_MAX_PAGES)
			return oci_err(err, OCI_E_REGISTRY, "%s: listing tags: more than %d pages",
			               r->name, REG_TAGS_MAX_PAGES);
		struct reg_request req = { .method = "GET", .url = url };
		struct reg_response resp = { 0 };
		_cleanup_json_ json_t *j = NULL;
		_cleanup_free_ const char **names = NULL;
		int hrc = reg_http(r, &req, &resp, err);
		/* the first URL is a path: remember it whole (the scheme is known now) */
		_cleanup_free_ char *abs = reg_resolve_url(r, url, "URL", NULL);
		seen[page] = abs ? url_hash(abs) : h;
		if (hrc < 0) {
			rc = oci_err_wrap(err, "%s: listing tags", r->name);
		} else if (resp.status != 200) {
			_cleanup_free_ char *w = oci_xasprintf("%s: listing tags", r->path);
			rc = reg_http_error(r, w, &resp, err);
		} else {
			json_error_t jerr;
			j = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, &jerr);
			json_t *arr = json_object_get(j, "tags");
			if (!j || !(json_is_array(arr) || json_is_null(arr) || !arr))
				rc = oci_err(err, OCI_E_REGISTRY, "%s: the tag list from %s is not valid JSON",
				             r->name, r->host);
			size_t i, n = 0;
			json_t *t;
			names = oci_xcalloc(json_array_size(arr) + 1, sizeof *names);
			json_array_foreach(arr, i, t)
				if (json_is_string(t))
					names[n++] = json_string_value(t);
			total += (int64_t)n;
			if (rc == 0 && total > REG_TAGS_MAX)
				rc = oci_err(err, OCI_E_REGISTRY, "%s: listing tags: more than %d tags",
				             r->name, REG_TAGS_MAX);
			if (rc == 0 && n)
				rc = fn(ud, names, n, err);
		}
		char *next = rc == 0 && resp.link ? reg_link_next(resp.link) : NULL;
		free(url);
		url = next ? reg_resolve_url(r, next, "Link", err) : NULL;
		if (next && !url)
			rc = oci_err_wrap(err, "%s: listing tags", r->name);
		free(next);
		reg_response_release(&resp);
	}
	return rc;
}

/* --- referrers ----------------------------------------------------------------- */

int reg_referrers_get(struct reg_repo *r, const char *digest, const char *artifact_type,
                      struct oci_index *out, bool *filtered, oci_error *err)
{
	_cleanup_free_ char *w = oci_xasprintf("%s@%s: referrers", r->path, digest);
	char *url = oci_xasprintf("/v2/%s/referrers/%s", r->path, digest);
	if (artifact_type) {
		CURL *h = curl_easy_init();
		char *q = h ? curl_easy_escape(h, artifact_type, 0) : NULL;
		char *u = oci_xasprintf("%s?artifactType=%s", url, q ? q : "");
		curl_free(q);
		curl_easy_cleanup(h);
		free(url);
		url = u;
	}
	memset(out, 0, sizeof *out);
	*filtered = artifact_type != NULL;
	int rc = 1;
	for (int page = 0; url && page < 1000; page++) {
		struct reg_request req = { .method = "GET", .url = url, .accept = OCI_MT_OCI_INDEX };
		struct reg_response resp = { 0 };
		struct oci_index ix = { 0 };
		if (reg_http(r, &req, &resp, err) < 0) {
			rc = oci_err_wrap(err, "%s", w);
		} else if (resp.status == 404 && page == 0) {
			rc = 0; /* no referrers API: the caller reads the fallback tag */
		} else if (resp.status != 200) {
			rc = reg_http_error(r, w, &resp, err);
		} else if (oci_index_parse(&ix, resp.body.data ? resp.body.data : "", resp.body.len,
		                           OCI_MT_OCI_INDEX, err) < 0) {
			rc = oci_err_wrap(err, "%s from %s", w, r->host);
		} else {
			for (size_t i = 0; i < ix.n_manifests; i++)
				oci_index_add(out, &ix.manifests[i]);
			if (out->n_manifests > REG_REFERRERS_MAX)
				rc = oci_err(err, OCI_E_REGISTRY, "%s: more than %d referrers from %s", w,
				             REG_REFERRERS_MAX, r->host);
			/* every page must say it filtered, else the caller filters */
			if (!resp.oci_filters_applied || !strstr(resp.oci_filters_applied, "artifactType"))
				*filtered = false;
		}
		oci_index_release(&ix);
		char *next = rc == 1 && resp.link ? reg_link_next(resp.link) : NULL;
		char *nurl = next ? reg_resolve_url(r, next, "Link", err) : NULL;
		if (next && !nurl)
			rc = -1;
		else if (nurl && strcmp(nurl, url) == 0) /* a page that links to itself */
			rc = oci_err(err, OCI_E_REGISTRY, "%s: %s links a page of referrers to itself", w,
			             r->host);
		free(url);
		url = nurl;
		free(next);
		reg_response_release(&resp);
		if (rc != 1)
			break;
	}
	if (rc == 1 && url)
		rc = oci_err(err, OCI_E_REGISTRY, "%s: more than 1000 pages of referrers from %s", w,
		             r->host);
	free(url);
	if (rc != 1)
		oci_index_release(out);
	return rc;
}
