/* registry/auth.c: WWW-Authenticate challenges, Basic credentials and
 * bearer tokens per the distribution token-auth spec.
 *
 * A host's challenge is remembered after the first 401, so later requests
 * (any repository) fetch their token up front without another 401.  Tokens
 * are cached per (host, scope set) until they expire.  Transport reaches
 * this file only through the hook reg_auth_init installs.
 */
#include <ctype.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "registry/auth.h"
#include "oci/cleanup.h"
#include "oci/ref.h"
#include "oci/text.h"
#include "oci/util.h"
#include "registry/creds.h"
#include "registry/internal.h"
#include "registry/transport.h"

enum reg_auth_kind { REG_AUTH_UNKNOWN, REG_AUTH_NONE, REG_AUTH_BASIC, REG_AUTH_BEARER };

/* Per-host state (reg_host.auth), guarded by reg_client.lock. */
struct reg_host_auth {
	enum reg_auth_kind kind;
	char *realm, *service; /* bearer challenge */
	bool creds_loaded;
	struct reg_creds *creds;
	char **hints; /* scope sets to request whole (see reg_auth_hint_locked) */
	size_t n_hints;
};

struct reg_token {
	struct reg_token *next;
	char *host, *scopes;
	char *header; /* "Bearer …" */
	time_t expires;
};

/* The client's (reg_client.auth). */
struct reg_auth_state {
	pthread_mutex_t token_lock; /* one token request at a time */
	struct reg_token *tokens;   /* under reg_client.lock */
};

/* hs's auth state, created on first use.  Call with c->lock held. */
static struct reg_host_auth *host_auth_locked(struct reg_host *hs)
{
	if (!hs->auth)
		hs->auth = oci_xcalloc(1, sizeof *hs->auth);
	return hs->auth;
}

/* --- WWW-Authenticate ----------------------------------------------------- */

void reg_challenge_release(struct reg_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	free(c->error);
	memset(c, 0, sizeof *c);
}

static bool is_tchar(int ch)
{
	return ch > 32 && ch < 127 && !strchr("\"(),/:;<=>?@[\\]{}", ch);
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* token68 or quoted-string at p; *out gets the unquoted value. */
static const char *parse_value(const char *p, char **out)
{
	struct oci_buf b = { 0 };
	if (*p == '"') {
		p++;
		while (*p && *p != '"') {
			if (*p == '\\' && p[1])
				p++;
			oci_buf_append(&b, p, 1);
			p++;
		}
		if (*p != '"') {
			oci_buf_release(&b);
			return NULL;
		}
		p++;
	} else {
		const char *s = p;
		while (*p && *p != ',' && *p != ' ' && *p != '\t')
			p++;
		oci_buf_append(&b, s, (size_t)(p - s));
	}
	*out = b.data ? b.data : oci_xstrdup("");
	return p;
}

int reg_parse_challenges(const char *value, struct reg_challenge *out, int max)
{
	int n = 0;
	const char *p = value ? value : "";
	struct reg_challenge *cur = NULL;

	for (;;) {
		p = skip_ws(p);
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *s = p;
		while (is_tchar((unsigned char)*p))
			p++;
		if (p == s)
			goto bad;
		size_t tl = (size_t)(p - s);
		const char *q = skip_ws(p);
		if (*q == '=') {
			/* auth-param of the current challenge */
			if (!cur)
				goto bad;
			q = skip_ws(q + 1);
			char *v = NULL;
			q = parse_value(q, &v);
			if (!q)
				goto bad;
			char **slot = NULL;
			if (tl == 5 && strncasecmp(s, "realm", 5) == 0)
				slot = &cur->realm;
			else if (tl == 7 && strncasecmp(s, "service", 7) == 0)
				slot = &cur->service;
			else if (tl == 5 && strncasecmp(s, "scope", 5) == 0)
				slot = &cur->scope;
			else if (tl == 5 && strncasecmp(s, "error", 5) == 0)
				slot = &cur->error;
			if (slot) {
				free(*slot);
				*slot = v;
			} else
				free(v);
			p = skip_ws(q);
			if (*p && *p != ',')
				goto bad;
			continue;
		}
		/* a new challenge: scheme name */
		if (n == max)
			break; /* keep the first `max` challenges */
		cur = &out[n++];
		memset(cur, 0, sizeof *cur);
		cur->scheme = oci_xstrndup(s, tl);
		for (char *c = cur->scheme; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		p = q;
		/* token68 form ("Basic abc==") is allowed and ignored */
		if (*p && *p != ',' && !(is_tchar((unsigned char)*p))) {
			char *v = NULL;
			p = parse_value(p, &v);
			free(v);
			if (!p)
				goto bad;
		}
	}
	return n;
bad:
	for (int i = 0; i < n; i++)
		reg_challenge_release(&out[i]);
	return -1;
}

/* --- tokens --------------------------------------------------------------- */

static char *b64(const char *s)
{
	size_t n = strlen(s);
	char *out = oci_xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

static struct reg_creds *host_creds(struct reg_repo *repo, struct reg_host *hs, oci_error *err)
{
	struct reg_client *c = repo->c;
	pthread_mutex_lock(&c->lock);
	struct reg_host_auth *ha = host_auth_locked(hs);
	bool loaded = ha->creds_loaded;
	pthread_mutex_unlock(&c->lock);
	if (!loaded) {
		struct reg_creds cr = { 0 };
		int r = reg_creds_lookup(c, repo->domain, &cr, err);
		if (r < 0)
			return NULL;
		if (r == 1)
			reg_secret_add(c, cr.secret);
		pthread_mutex_lock(&c->lock);
		if (!ha->creds_loaded) {
			ha->creds_loaded = true;
			if (r == 1) {
				ha->creds = oci_xmalloc(sizeof *ha->creds);
				*ha->creds = cr;
				memset(&cr, 0, sizeof cr);
			}
		}
		pthread_mutex_unlock(&c->lock);
		reg_creds_release(&cr);
	}
	return ha->creds;
}

/* --- scope sets ------------------------------------------------------------
 * A scope set is a space-separated list of "type:name:action,action".  Sets
 * are compared per resource (type:name) so that a token asked for a wider
 * set serves every narrower request on the same host. */

struct scope {
	char *res;     /* "repository:a/b" */
	char **acts;   /* sorted, NULL-terminated */
};

static void scopes_free(struct scope *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].res);
		oci_strvfreep(&v[i].acts);
	}
	free(v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_scope(const void *a, const void *b)
{
	return strcmp(((const struct scope *)a)->res, ((const struct scope *)b)->res);
}

static bool has_act(char **acts, const char *a)
{
	for (char **p = acts; p && *p; p++)
		if (strcmp(*p, a) == 0 || strcmp(*p, "*") == 0)
			return true;
	return false;
}

static void add_act(char ***acts, const char *a)
{
	size_t n = 0;
	while (*acts && (*acts)[n]) {
		if (strcmp((*acts)[n], a) == 0)
			return;
		n++;
	}
	*acts = oci_xrealloc(*acts, (n + 2) * sizeof **acts);
	(*acts)[n] = oci_xstrdup(a);
	(*acts)[n + 1] = NULL;
	qsort(*acts, n + 1, sizeof **acts, cmp_str);
}

/* Parse a set, merging repeated resources. */
static struct scope *scopes_parse(const char *set, size_t *n_out)
{
	struct scope *v = NULL;
	size_t n = 0;
	_cleanup_free_ char *copy = oci_xstrdup(set ? set : "");
	char *save = NULL;
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *colon = strrchr(t, ':');
		if (!colon || colon == t || !strchr(t, ':') || strchr(t, ':') == colon)
			continue; /* not type:name:actions */
		*colon = '\0';
		size_t i;
		for (i = 0; i < n && strcmp(v[i].res, t) != 0; i++)
			;
		if (i == n) {
			v = oci_xrealloc(v, (n + 1) * sizeof *v);
			v[n].res = oci_xstrdup(t);
			v[n].acts = NULL;
			n++;
		}
		char *save2 = NULL;
		for (char *a = strtok_r(colon + 1, ",", &save2); a; a = strtok_r(NULL, ",", &save2))
			add_act(&v[i].acts, a);
	}
	if (n)
		qsort(v, n, sizeof *v, cmp_scope);
	*n_out = n;
	return v;
}

static char *scopes_format(const struct scope *v, size_t n)
{
	struct oci_buf b = { 0 };
	for (size_t i = 0; i < n; i++) {
		if (i)
			oci_buf_append(&b, " ", 1);
		oci_buf_append(&b, v[i].res, strlen(v[i].res));
		oci_buf_append(&b, ":", 1);
		for (char **a = v[i].acts; a && *a; a++) {
			if (a != v[i].acts)
				oci_buf_append(&b, ",", 1);
			oci_buf_append(&b, *a, strlen(*a));
		}
	}
	return b.data ? b.data : oci_xstrdup("");
}

char *reg_scopes_union(const char *a, const char *b)
{
	_cleanup_free_ char *both = oci_xasprintf("%s %s", a ? a : "", b ? b : "");
	size_t n;
	struct scope *v = scopes_parse(both, &n);
	char *out = scopes_format(v, n);
	scopes_free(v, n);
	return out;
}

bool reg_scopes_cover(const char *have, const char *want)
{
	size_t nh, nw;
	struct scope *h = scopes_parse(have, &nh), *w = scopes_parse(want, &nw);
	bool ok = true;
	for (size_t i = 0; i < nw && ok; i++) {
		size_t j;
		for (j = 0; j < nh && strcmp(h[j].res, w[i].res) != 0; j++)
			;
		if (j == nh) {
			ok = false;
			break;
		}
		for (char **a = w[i].acts; a && *a && ok; a++)
			ok = has_act(h[j].acts, *a);
	}
	scopes_free(h, nh);
	scopes_free(w, nw);
	return ok;
}

/* Remember a repository's scope set as one to ask for whole: a later token
 * request for any subset of it (the source of a copy, a mount's `from`)
 * asks for all of it, so one token serves the whole operation.  Called
 * with c->lock held. */
void reg_auth_hint_locked(struct reg_host *hs, const char *scopes)
{
	struct reg_host_auth *ha = host_auth_locked(hs);
	size_t keep = 0;
	for (size_t i = 0; i < ha->n_hints; i++) {
		if (reg_scopes_cover(ha->hints[i], scopes))
			return;
		if (reg_scopes_cover(scopes, ha->hints[i]))
			free(ha->hints[i]);
		else
			ha->hints[keep++] = ha->hints[i];
	}
	ha->hints = oci_xrealloc(ha->hints, (keep + 1) * sizeof *ha->hints);
	ha->hints[keep++] = oci_xstrdup(scopes);
	ha->n_hints = keep;
}

/* The scope set to request for `scopes`: a hinted superset, else itself. */
static char *scopes_to_request(struct reg_client *c, struct reg_host *hs, const char *scopes)
{
	char *out = NULL;
	pthread_mutex_lock(&c->lock);
	struct reg_host_auth *ha = host_auth_locked(hs);
	for (size_t i = 0; i < ha->n_hints && !out; i++)
		if (reg_scopes_cover(ha->hints[i], scopes))
			out = oci_xstrdup(ha->hints[i]);
	pthread_mutex_unlock(&c->lock);
	return out ? out : oci_xstrdup(scopes);
}

static char *repo_scopes(struct reg_repo *repo)
{
	pthread_mutex_lock(&repo->c->lock);
	char *s = oci_xstrdup(repo->scopes);
	pthread_mutex_unlock(&repo->c->lock);
	return s;
}

/* An unexpired token for host whose scope set covers `scopes`. */
static char *token_cached(struct reg_client *c, const char *host, const char *scopes)
{
	char *h = NULL;
	time_t now = time(NULL);
	pthread_mutex_lock(&c->lock);
	for (struct reg_token *t = c->auth->tokens; t && !h; t = t->next)
		if (strcmp(t->host, host) == 0 && t->expires > now &&
		    (strcmp(t->scopes, scopes) == 0 || reg_scopes_cover(t->scopes, scopes)))
			h = oci_xstrdup(t->header);
	pthread_mutex_unlock(&c->lock);
	return h;
}

static void token_store(struct reg_client *c, const char *host, const char *scopes,
                        const char *header, long ttl)
{
	pthread_mutex_lock(&c->lock);
	struct reg_token *t = NULL;
	for (t = c->auth->tokens; t; t = t->next)
		if (strcmp(t->host, host) == 0 && strcmp(t->scopes, scopes) == 0)
			break;
	if (!t) {
		t = oci_xcalloc(1, sizeof *t);
		t->host = oci_xstrdup(host);
		t->scopes = oci_xstrdup(scopes);
		t->next = c->auth->tokens;
		c->auth->tokens = t;
	}
	free(t->header);
	t->header = oci_xstrdup(header);
	/* refresh a little before the server's expiry */
	t->expires = time(NULL) + (ttl > 30 ? ttl - 10 : ttl);
	pthread_mutex_unlock(&c->lock);
}

/* Drop the tokens that would serve `scopes` (the server refused one). */
static void token_forget(struct reg_client *c, const char *host, const char *scopes)
{
	pthread_mutex_lock(&c->lock);
	for (struct reg_token *t = c->auth->tokens; t; t = t->next)
		if (strcmp(t->host, host) == 0 && reg_scopes_cover(t->scopes, scopes))
			t->expires = 0;
	pthread_mutex_unlock(&c->lock);
}

/* Append "&name=value" (value URL-encoded) to a query buffer. */
static void q_add(struct oci_buf *q, const char *name, const char *value)
{
	char *enc = curl_easy_escape(NULL, value, 0);
	if (q->len)
		oci_buf_append(q, "&", 1);
	oci_buf_append(q, name, strlen(name));
	oci_buf_append(q, "=", 1);
	oci_buf_append(q, enc, strlen(enc));
	curl_free(enc);
}

int reg_token_parse(const json_t *answer, const char **token, long *ttl, oci_error *err)
{
	const char *tok = json_string_value(json_object_get(answer, "token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(answer, "access_token"));
	if (!tok || !*tok)
		return oci_err(err, OCI_E_AUTH, "the token server's answer holds no token");
	/* it goes into an Authorization header: CR LF would start another */
	if (oci_text_has_ctl(tok))
		return oci_err(err, OCI_E_AUTH, "the token server's token holds control characters");
	if (strlen(tok) > REG_TOKEN_MAX)
		return oci_err(err, OCI_E_AUTH, "the token server's token is larger than 1 MiB");
	json_int_t e = json_integer_value(json_object_get(answer, "expires_in"));
	*ttl = e <= 0 ? 60 : e > REG_TOKEN_TTL_MAX ? REG_TOKEN_TTL_MAX : (long)e;
	*token = tok;
	return 0;
}

/* Fetch a token from the realm for `scopes` (space-separated). */
static char *fetch_token(struct reg_repo *repo, struct reg_host *hs, const char *scopes,
                         oci_error *err)
{
	struct reg_client *c = repo->c;
	_cleanup_free_ char *realm = NULL, *service = NULL;
	pthread_mutex_lock(&c->lock);
	struct reg_host_auth *ha = host_auth_locked(hs);
	realm = oci_xstrdup(ha->realm);
	service = oci_xstrdup(ha->service);
	pthread_mutex_unlock(&c->lock);

	struct reg_creds *cr = host_creds(repo, hs, err);
	if (!cr && err && err->code)
		return NULL;

	_cleanup_buf_ struct oci_buf q = { 0 };
	if (service)
		q_add(&q, "service", service);
	_cleanup_free_ char *scopes_copy = oci_xstrdup(scopes);
	struct reg_request req = { .no_auth = true };
	_cleanup_free_ char *url = NULL, *authline = NULL;
	const char *hdrs[2] = { NULL, NULL };
	if (cr && cr->identity_token) {
		/* OAuth2 refresh-token grant, as docker does for identity tokens */
		q_add(&q, "grant_type", "refresh_token");
		q_add(&q, "refresh_token", cr->secret);
		q_add(&q, "client_id", "ccreg");
		if (*scopes)
			q_add(&q, "scope", scopes);
		url = oci_xstrdup(realm);
		req.method = "POST";
		req.body = q.data;
		req.body_len = q.len;
		req.content_type = "application/x-www-form-urlencoded";
	} else {
		char *save = NULL;
		for (char *s = strtok_r(scopes_copy, " ", &save); s; s = strtok_r(NULL, " ", &save))
			q_add(&q, "scope", s);
		url = oci_xasprintf("%s%s%s", realm, strchr(realm, '?') ? "&" : "?",
		                    q.data ? q.data : "");
		req.method = "GET";
		if (cr) {
			_cleanup_free_ char *up = oci_xasprintf("%s:%s", cr->username, cr->secret);
			_cleanup_free_ char *enc = b64(up);
			reg_secret_add(c, enc);
			authline = oci_xasprintf("Authorization: Basic %s", enc);
			hdrs[0] = authline;
			req.headers = hdrs;
		}
	}
	req.url = url;

	struct reg_response resp = { 0 };
	if (reg_http(repo, &req, &resp, err) < 0) {
		reg_response_release(&resp);
		return NULL;
	}
	if (resp.status == 401 || resp.status == 403) {
		if (cr)
			oci_err(err, OCI_E_AUTH,
			        "%s: the token server refused the credentials of user \"%s\" (HTTP %ld)",
			        repo->host, cr->username, resp.status);
		else
			oci_err(err, OCI_E_AUTH,
			        "%s: the token server refused anonymous access (HTTP %ld; no credentials "
			        "found for %s)",
			        repo->host, resp.status, repo->domain);
		reg_response_release(&resp);
		return NULL;
	}
	if (resp.status != 200) {
		oci_err(err, OCI_E_REGISTRY, "%s: token server answered HTTP %ld", repo->host,
		        resp.status);
		reg_response_release(&resp);
		return NULL;
	}
	json_error_t jerr;
	_cleanup_json_ json_t *j = json_loadb(resp.body.data, resp.body.len, 0, &jerr);
	reg_response_release(&resp);
	const char *tok = NULL;
	long ttl = 0;
	if (reg_token_parse(j, &tok, &ttl, err) < 0) {
		oci_err_wrap(err, "%s", repo->host);
		return NULL;
	}
	reg_secret_add(c, tok);
	char *header = oci_xasprintf("Bearer %s", tok);
	token_store(c, repo->host, scopes, header, ttl);
	return header;
}

/* The hook's header: see struct reg_auth_hook. */
static char *auth_header(struct reg_repo *repo, oci_error *err)
{
	struct reg_client *c = repo->c;
	struct reg_host *hs = reg_host_get(c, repo->host);
	pthread_mutex_lock(&c->lock);
	enum reg_auth_kind kind = host_auth_locked(hs)->kind;
	pthread_mutex_unlock(&c->lock);

	if (kind == REG_AUTH_BEARER) {
		_cleanup_free_ char *scopes = repo_scopes(repo);
		char *h = token_cached(c, repo->host, scopes);
		if (h)
			return h;
		/* one token request at a time: threads that wanted the same
		 * token find it cached when they get the lock */
		pthread_mutex_lock(&c->auth->token_lock);
		h = token_cached(c, repo->host, scopes);
		if (!h) {
			_cleanup_free_ char *want = scopes_to_request(c, hs, scopes);
			h = fetch_token(repo, hs, want, err);
		}
		pthread_mutex_unlock(&c->auth->token_lock);
		return h;
	}
	if (kind == REG_AUTH_BASIC) {
		struct reg_creds *cr = host_creds(repo, hs, err);
		if (!cr)
			return NULL;
		_cleanup_free_ char *up = oci_xasprintf("%s:%s", cr->username, cr->secret);
		_cleanup_free_ char *enc = b64(up);
		explicit_bzero(up, strlen(up));
		reg_secret_add(c, enc);
		return oci_xasprintf("Basic %s", enc);
	}
	return NULL;
}

/* The hook's challenge: see struct reg_auth_hook. */
static int auth_challenge(struct reg_repo *repo, const char *www, bool sent_auth,
                          oci_error *err)
{
	struct reg_client *c = repo->c;
	struct reg_host *hs = reg_host_get(c, repo->host);
	struct reg_challenge ch[4];
	int n = reg_parse_challenges(www, ch, 4);
	if (n <= 0) {
		oci_err(err, OCI_E_AUTH, "%s: authentication required, but the registry sent %s",
		        repo->host, n < 0 ? "a malformed WWW-Authenticate header" : "no challenge");
		return -1;
	}
	int pick = -1;
	for (int i = 0; i < n && pick < 0; i++)
		if (strcmp(ch[i].scheme, "bearer") == 0 && ch[i].realm)
			pick = i;
	for (int i = 0; i < n && pick < 0; i++)
		if (strcmp(ch[i].scheme, "basic") == 0)
			pick = i;
	int rc = 0;
	if (pick < 0) {
		oci_err(err, OCI_E_AUTH, "%s: unsupported authentication scheme \"%s\"", repo->host,
		        ch[0].scheme);
		rc = -1;
	} else if (strcmp(ch[pick].scheme, "bearer") == 0) {
		_cleanup_free_ char *scopes = repo_scopes(repo);
		/* the realm becomes the URL of a request with our credentials:
		 * http(s) only, no control characters, shown as sent when not */
		char *realm = reg_resolve_url(repo, ch[pick].realm, "token realm", err);
		if (!realm || (ch[pick].service && oci_text_has_ctl(ch[pick].service))) {
			if (realm)
				oci_err(err, OCI_E_AUTH, "%s: the token service name holds control characters",
				        repo->host);
			free(realm);
			if (err)
				err->code = OCI_E_AUTH;
			for (int i = 0; i < n; i++)
				reg_challenge_release(&ch[i]);
			return -1;
		}
		pthread_mutex_lock(&c->lock);
		struct reg_host_auth *ha = host_auth_locked(hs);
		ha->kind = REG_AUTH_BEARER;
		free(ha->realm);
		free(ha->service);
		ha->realm = realm;
		ha->service = oci_xstrdup(ch[pick].service);
		pthread_mutex_unlock(&c->lock);
		/* Sent without a token: now that the challenge is known, a token
		 * will do (auth_header fetches it, once for all threads).  Sent
		 * with one: it expired or was revoked (ask again), or it lacks a
		 * scope (insufficient_scope: ask once for the wider set the server
		 * named; when we asked for that already, the answer is no). */
		if (!sent_auth) {
			rc = 1;
		} else {
			_cleanup_free_ char *wide = reg_scopes_union(scopes, ch[pick].scope);
			bool insufficient = ch[pick].error && strcmp(ch[pick].error, "insufficient_scope") == 0;
			/* an insufficient token is still good for what it grants */
			if (!insufficient)
				token_forget(c, repo->host, scopes);
			if (insufficient && reg_scopes_cover(scopes, wide)) {
				rc = 0;
			} else {
				pthread_mutex_lock(&c->auth->token_lock);
				_cleanup_free_ char *t = token_cached(c, repo->host, wide);
				if (!t)
					t = fetch_token(repo, hs, wide, err);
				pthread_mutex_unlock(&c->auth->token_lock);
				rc = t ? 1 : -1;
			}
		}
	} else {
		pthread_mutex_lock(&c->lock);
		host_auth_locked(hs)->kind = REG_AUTH_BASIC;
		pthread_mutex_unlock(&c->lock);
		/* credentials that were sent and refused are not sent again */
		struct reg_creds *cr = host_creds(repo, hs, err);
		if (!cr && err && err->code)
			rc = -1;
		else
			rc = cr && !sent_auth ? 1 : 0;
	}
	for (int i = 0; i < n; i++)
		reg_challenge_release(&ch[i]);
	return rc;
}

static const struct reg_auth_hook auth_hook = {
	.header = auth_header,
	.challenge = auth_challenge,
};

void reg_auth_init(struct reg_client *c)
{
	c->auth = oci_xcalloc(1, sizeof *c->auth);
	pthread_mutex_init(&c->auth->token_lock, NULL);
	c->auth_hook = &auth_hook;
}

static void host_auth_free(struct reg_host_auth *ha)
{
	if (!ha)
		return;
	free(ha->realm);
	free(ha->service);
	if (ha->creds) {
		reg_creds_release(ha->creds);
		free(ha->creds);
	}
	for (size_t k = 0; k < ha->n_hints; k++)
		free(ha->hints[k]);
	free(ha->hints);
	free(ha);
}

void reg_auth_release(struct reg_client *c)
{
	for (size_t i = 0; i < c->n_hosts; i++) {
		host_auth_free(c->hosts[i]->auth);
		c->hosts[i]->auth = NULL;
	}
	c->auth_hook = NULL;
	if (!c->auth)
		return;
	struct reg_token *t = c->auth->tokens;
	while (t) {
		struct reg_token *next = t->next;
		free(t->host);
		free(t->scopes);
		free(t->header);
		free(t);
		t = next;
	}
	pthread_mutex_destroy(&c->auth->token_lock);
	free(c->auth);
	c->auth = NULL;
}

void reg_auth_use_creds(struct reg_repo *repo, const char *username, const char *password)
{
	struct reg_client *c = repo->c;
	struct reg_host *hs = reg_host_get(c, repo->host);
	struct reg_creds *cr = oci_xcalloc(1, sizeof *cr);
	cr->username = oci_xstrdup(username);
	cr->secret = oci_xstrdup(password);
	reg_secret_add(c, password);
	pthread_mutex_lock(&c->lock);
	struct reg_host_auth *ha = host_auth_locked(hs);
	if (ha->creds) {
		reg_creds_release(ha->creds);
		free(ha->creds);
	}
	ha->creds = cr;
	ha->creds_loaded = true;
	pthread_mutex_unlock(&c->lock);
}

bool reg_auth_anonymous(struct reg_repo *repo)
{
	struct reg_host *hs = reg_host_get(repo->c, repo->host);
	pthread_mutex_lock(&repo->c->lock);
	bool anonymous = hs->auth && hs->auth->creds_loaded && !hs->auth->creds;
	pthread_mutex_unlock(&repo->c->lock);
	return anonymous;
}
