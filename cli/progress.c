/* cli/progress.c: live or periodic transfer progress on stderr. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/progress.h"
#include "oci/platform.h"
#include "oci/util.h"

#define SLOTS 64
#define TTY_INTERVAL 0.1
#define PLAIN_INTERVAL 5.0

struct slot {
	bool used;
	char name[80];
	int64_t size, done;
	double start;
};

struct cli_progress {
	pthread_mutex_t lock;
	const char *verb;
	bool quiet, tty;
	int64_t total;      /* bytes of all blobs */
	bool total_known;
	size_t n_blobs, finished;
	int64_t moved;      /* bytes transferred */
	int64_t skipped;    /* bytes of blobs that existed or were mounted */
	size_t existed, mounted, transferred;
	double t0, last_draw;
	int drawn;          /* lines of the live display on screen */
	struct slot slots[SLOTS];
};

struct cli_progress *cli_progress_new(const struct cli_ctx *ctx, const char *verb,
                                      int64_t total_bytes, size_t n_blobs)
{
	struct cli_progress *p = oci_xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->lock, NULL);
	p->verb = verb;
	p->quiet = ctx->g.quiet;
	p->tty = isatty(STDERR_FILENO) && !ctx->g.verbose;
	p->total = total_bytes < 0 ? 0 : total_bytes;
	p->total_known = total_bytes >= 0;
	p->n_blobs = n_blobs;
	p->t0 = p->last_draw = oci_now_ms() / 1e3;
	return p;
}

static void human(int64_t b, char *out, size_t n)
{
	cli_human_size(b < 0 ? 0 : b, out, n);
}

static void eta(double secs, char *out, size_t n)
{
	if (secs < 0 || secs > 360000)
		snprintf(out, n, "--:--");
	else if (secs >= 3600)
		snprintf(out, n, "%d:%02d:%02d", (int)secs / 3600, (int)secs / 60 % 60, (int)secs % 60);
	else
		snprintf(out, n, "%d:%02d", (int)secs / 60, (int)secs % 60);
}

/* "3/9 blobs  123 MB / 1.00 GB  98.0 MB/s  ETA 0:07" */
static void total_line(struct cli_progress *p, double t, char *out, size_t n)
{
	char a[32], b[32], r[32], e[32];
	double el = t - p->t0;
	double rate = el > 0.2 ? (double)p->moved / el : 0;
	int64_t left = p->total - p->moved - p->skipped;
	human(p->moved + p->skipped, a, sizeof a);
	human(p->total, b, sizeof b);
	human((int64_t)rate, r, sizeof r);
	eta(rate > 0 ? (double)left / rate : -1, e, sizeof e);
	snprintf(out, n, "%zu/%zu blobs  %s / %s  %s/s  ETA %s", p->finished, p->n_blobs, a, b, r, e);
}

static void clear_drawn(struct cli_progress *p)
{
	if (p->drawn) {
		fprintf(stderr, "\033[%dA", p->drawn);
		for (int i = 0; i < p->drawn; i++)
			fputs("\033[K\n", stderr);
		fprintf(stderr, "\033[%dA", p->drawn);
	}
}

static void draw_tty(struct cli_progress *p, double t)
{
	char line[256];
	int lines = 0;
	if (p->drawn)
		fprintf(stderr, "\033[%dA", p->drawn);
	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &p->slots[i];
		if (!s->used)
			continue;
		char a[32], b[32], r[32];
		double el = t - s->start;
		human(s->done, a, sizeof a);
		human(s->size, b, sizeof b);
		human(el > 0.2 ? (int64_t)((double)s->done / el) : 0, r, sizeof r);
		fprintf(stderr, "\033[K  %-24.24s %10s / %-10s %10s/s\n", s->name, a,
		        s->size >= 0 ? b : "?", r);
		lines++;
	}
	total_line(p, t, line, sizeof line);
	fprintf(stderr, "\033[K%s: %s\n", p->verb, line);
	lines++;
	/* lines left over from a taller previous frame */
	for (int i = lines; i < p->drawn; i++)
		fputs("\033[K\n", stderr);
	if (p->drawn > lines)
		fprintf(stderr, "\033[%dA", p->drawn - lines);
	p->drawn = lines;
	fflush(stderr);
}

static void maybe_draw(struct cli_progress *p, bool force)
{
	if (p->quiet)
		return;
	double t = oci_now_ms() / 1e3;
	if (p->tty) {
		if (force || t - p->last_draw >= TTY_INTERVAL) {
			p->last_draw = t;
			draw_tty(p, t);
		}
	} else if (t - p->last_draw >= PLAIN_INTERVAL) {
		char line[256];
		p->last_draw = t;
		total_line(p, t, line, sizeof line);
		fprintf(stderr, "%s: %s\n", p->verb, line);
	}
}

static struct slot *find_slot(struct cli_progress *p, const char *name)
{
	for (int i = 0; i < SLOTS; i++)
		if (p->slots[i].used && strcmp(p->slots[i].name, name) == 0)
			return &p->slots[i];
	return NULL;
}

void cli_progress_event(void *ud, enum reg_progress_ev ev, const char *digest, int64_t n)
{
	struct cli_progress *p = ud;
	char name[80];
	/* "sha256:0123456789ab" is enough to tell blobs apart */
	const char *colon = strchr(digest, ':');
	if (colon && strlen(colon + 1) >= 12 && !strchr(digest, '/'))
		snprintf(name, sizeof name, "%.*s%.12s", (int)(colon - digest + 1), digest, colon + 1);
	else
		snprintf(name, sizeof name, "%s", digest);

	pthread_mutex_lock(&p->lock);
	struct slot *s = find_slot(p, name);
	switch (ev) {
	case REG_PROGRESS_START:
		if (!s) {
			for (int i = 0; i < SLOTS && !s; i++)
				if (!p->slots[i].used)
					s = &p->slots[i];
			if (s) {
				memset(s, 0, sizeof *s);
				s->used = true;
				snprintf(s->name, sizeof s->name, "%s", name);
				s->size = n;
				s->start = oci_now_ms() / 1e3;
			}
		}
		if (!p->total_known && n > 0)
			p->total += n;
		break;
	case REG_PROGRESS_BYTES:
		p->moved += n;
		if (s)
			s->done += n;
		break;
	case REG_PROGRESS_DONE:
		p->finished++;
		if (n == REG_BLOB_EXISTED)
			p->existed++;
		else if (n == REG_BLOB_MOUNTED)
			p->mounted++;
		else
			p->transferred++;
		if (s) {
			if (n != REG_BLOB_TRANSFERRED && s->size > 0)
				p->skipped += s->size;
			s->used = false;
		}
		break;
	}
	maybe_draw(p, false);
	pthread_mutex_unlock(&p->lock);
}

void cli_progress_finish(struct cli_progress *p, bool summary, struct cli_progress_stats *stats)
{
	pthread_mutex_lock(&p->lock);
	double el = oci_now_ms() / 1e3 - p->t0;
	if (!p->quiet && p->tty)
		clear_drawn(p);
	p->drawn = 0;
	if (summary && !p->quiet) {
		char b[32], r[32];
		human(p->moved, b, sizeof b);
		human(el > 0 ? (int64_t)((double)p->moved / el) : 0, r, sizeof r);
		fprintf(stderr, "%s: %zu blobs: %zu transferred (%s, %s/s), %zu already present, %zu mounted; %.1fs\n",
		        p->verb, p->finished, p->transferred, b, r, p->existed, p->mounted, el);
	}
	if (stats) {
		stats->blobs = p->finished;
		stats->existed = p->existed;
		stats->mounted = p->mounted;
		stats->transferred = p->transferred;
		stats->bytes = p->moved;
		stats->seconds = el;
	}
	pthread_mutex_unlock(&p->lock);
}

void cli_progress_free(struct cli_progress *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void cli_progress_report(const struct cli_ctx *ctx, const char *digest, const char *media_type,
                         const char *dest, const struct cli_progress_stats *st)
{
	if (!ctx->g.json) {
		printf("%s\n", digest);
		return;
	}
	json_t *j = json_object();
	json_object_set_new(j, "digest", json_string(digest));
	if (media_type)
		json_object_set_new(j, "mediaType", json_string(media_type));
	json_object_set_new(j, "destination", json_string(dest));
	json_object_set_new(j, "blobs", json_integer((json_int_t)st->blobs));
	json_object_set_new(j, "transferred", json_integer((json_int_t)st->transferred));
	json_object_set_new(j, "existed", json_integer((json_int_t)st->existed));
	json_object_set_new(j, "mounted", json_integer((json_int_t)st->mounted));
	json_object_set_new(j, "bytes", json_integer(st->bytes));
	json_object_set_new(j, "seconds", json_real(st->seconds));
	cli_print_json(j);
}

/* Parse a repeated --platform into *plats; -1 (message printed) on error. */
int cli_add_platform(const char *cmd, const char *s, struct oci_platform **plats, size_t *n)
{
	oci_error err = { 0 };
	struct oci_platform p = { 0 };
	if (oci_platform_parse(&p, s, &err) < 0) {
		cli_usage_error(cmd, "--platform: %s", err.msg);
		return -1;
	}
	*plats = oci_xrealloc(*plats, (*n + 1) * sizeof **plats);
	(*plats)[(*n)++] = p;
	return 0;
}

void cli_free_platforms(struct oci_platform *plats, size_t n)
{
	for (size_t i = 0; i < n; i++)
		oci_platform_release(&plats[i]);
	free(plats);
}
