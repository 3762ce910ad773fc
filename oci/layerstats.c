/* oci/layerstats.c: see layerstats.h.
 *
 * Two threads per layer, joined by a bounded ring:
 *
 *   caller: oci_layer_feed, inflate ──ring `out`──▶ tar stage
 *
 * The feeding thread (a registry GET's, which also hashes the compressed
 * bytes) inflates gzip (ISA-L or zlib) straight into free space of `out`;
 * the tar stage hashes every uncompressed byte as it lends it to libarchive
 * (its read callback hands out spans of the ring, no copy) and counts the
 * entries.  That splits the work about evenly over two cores with one
 * hand-off, which holds up better than three stages when the machine is
 * busy.  An uncompressed layer is copied into ring `in`, which the tar stage
 * reads instead; zstd goes through `in` to a third thread running a
 * libarchive raw-format reader with the zstd filter (libarchive pulls its
 * input), which writes into `out`.
 */
#include "oci/layerstats.h"

#include <archive.h>
#include <archive_entry.h>
#include <pthread.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>
#include <zlib.h>

#include "config.h"
#include "oci/util.h"

#if CCREG_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#define RING_SIZE (4u << 20)
#define STAGE_SIZE (256u << 10)
/* A waiting side is woken only once this much is there for it, so threads
 * do not ping-pong on every small network chunk. */
#define WAKE_BYTES (512u << 10)

/* --- rings ---------------------------------------------------------------------- */

/* One writer, one reader.  The reader borrows a contiguous span with
 * ring_peek (given back at its next peek); the writer copies in
 * (ring_write) or borrows free space (ring_reserve, then ring_commit). */
struct ring {
	pthread_mutex_t mu;
	pthread_cond_t can_read, can_write;
	unsigned char *buf;
	size_t head, len; /* readable bytes: [head, head+len) mod RING_SIZE */
	size_t held;      /* of those, lent to the reader */
	bool closed;      /* the writer is done */
	bool failed;      /* the reader gave up: writes are dropped */
	bool stop;        /* everyone quits */
	bool reader_waits, writer_waits;
};

static void ring_init(struct ring *r)
{
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->can_read, NULL);
	pthread_cond_init(&r->can_write, NULL);
	r->buf = oci_xmalloc(RING_SIZE);
}

static void ring_release(struct ring *r)
{
	pthread_cond_destroy(&r->can_read);
	pthread_cond_destroy(&r->can_write);
	pthread_mutex_destroy(&r->mu);
	free(r->buf);
}

/* Sets one of the flags and wakes both sides. */
static void ring_flag(struct ring *r, bool *flag)
{
	pthread_mutex_lock(&r->mu);
	*flag = true;
	pthread_cond_broadcast(&r->can_read);
	pthread_cond_broadcast(&r->can_write);
	pthread_mutex_unlock(&r->mu);
}

/* The next contiguous readable span, lent until the next call; 0 at the
 * end (closed, failed or stopped). */
static size_t ring_peek(struct ring *r, const unsigned char **p)
{
	pthread_mutex_lock(&r->mu);
	if (r->held) {
		r->head = (r->head + r->held) % RING_SIZE;
		r->len -= r->held;
		r->held = 0;
		if (r->writer_waits && RING_SIZE - r->len >= WAKE_BYTES)
			pthread_cond_signal(&r->can_write);
	}
	while (!r->len && !r->closed && !r->stop && !r->failed) {
		if (r->writer_waits)
			pthread_cond_signal(&r->can_write);
		r->reader_waits = true;
		pthread_cond_wait(&r->can_read, &r->mu);
		r->reader_waits = false;
	}
	size_t n = r->stop || r->failed ? 0 : r->len;
	if (n > RING_SIZE - r->head)
		n = RING_SIZE - r->head;
	r->held = n;
	*p = r->buf + r->head;
	pthread_mutex_unlock(&r->mu);
	return n;
}

/* Free contiguous space for the writer (waits for WAKE_BYTES of it, or
 * less at the ring's end); 0 when the reader failed or all must stop. */
static size_t ring_reserve(struct ring *r, unsigned char **p)
{
	pthread_mutex_lock(&r->mu);
	while (RING_SIZE - r->len < WAKE_BYTES && !r->failed && !r->stop) {
		if (r->reader_waits)
			pthread_cond_signal(&r->can_read);
		r->writer_waits = true;
		pthread_cond_wait(&r->can_write, &r->mu);
		r->writer_waits = false;
	}
	size_t tail = (r->head + r->len) % RING_SIZE;
	size_t n = r->failed || r->stop ? 0 : RING_SIZE - r->len;
	if (n > RING_SIZE - tail)
		n = RING_SIZE - tail;
	*p = r->buf + tail;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static void ring_commit(struct ring *r, size_t n)
{
	pthread_mutex_lock(&r->mu);
	r->len += n;
	if (r->reader_waits && r->len >= WAKE_BYTES)
		pthread_cond_signal(&r->can_read);
	pthread_mutex_unlock(&r->mu);
}

/* Copy in, waiting for room; dropped once the reader failed. */
static void ring_write(struct ring *r, const void *p, size_t n)
{
	const unsigned char *s = p;
	pthread_mutex_lock(&r->mu);
	while (n && !r->failed && !r->stop) {
		while (r->len == RING_SIZE && !r->failed && !r->stop) {
			if (r->reader_waits)
				pthread_cond_signal(&r->can_read);
			r->writer_waits = true;
			pthread_cond_wait(&r->can_write, &r->mu);
			r->writer_waits = false;
		}
		if (r->failed || r->stop)
			break;
		size_t tail = (r->head + r->len) % RING_SIZE;
		size_t k = RING_SIZE - r->len;
		if (k > RING_SIZE - tail)
			k = RING_SIZE - tail;
		if (k > n)
			k = n;
		/* the reader only touches [head, head+len): no lock for the copy */
		pthread_mutex_unlock(&r->mu);
		memcpy(r->buf + tail, s, k);
		pthread_mutex_lock(&r->mu);
		r->len += k;
		s += k;
		n -= k;
		if (r->reader_waits && r->len >= WAKE_BYTES)
			pthread_cond_signal(&r->can_read);
	}
	pthread_mutex_unlock(&r->mu);
}

/* --- the analyzer ------------------------------------------------------------------ */

enum kind { K_NONE, K_GZIP, K_ZSTD };

struct stage {
	pthread_t thread;
	bool started;
	oci_error err;
	int rc;
};

struct oci_layer {
	char *want_digest, *want_diff_id;
	oci_hasher *ch; /* compressed bytes, only when want_digest */
	int64_t compressed;
	enum oci_compression hint;
	enum kind kind;

	struct ring in, out;
	struct stage dec, tar;

	/* the stream's first bytes decide the kind; threads start then */
	unsigned char magic[4];
	size_t magic_len;
	bool decided;
	bool inline_gzip; /* gzip inflates in the feeding thread */
	unsigned char *stage; /* gzip input gathered from small network chunks */
	size_t staged;

	/* decompressor */
	bool member_end; /* gzip: a member ended; another or the end follows */
	bool pending;    /* gzip: the output filled up; more may come without input */
	const unsigned char *inp;
	size_t in_len;   /* unconsumed input */
#if CCREG_HAVE_ISAL
	struct inflate_state *isal;
#else
	z_stream z;
	bool z_init;
#endif
	struct archive *zst;

	/* tar stage */
	struct ring *tar_src; /* `out`, or `in` for an uncompressed layer */
	oci_hasher *uh;
	struct oci_layer_stats st;
};

const char *oci_layer_inflate_backend(void)
{
	return CCREG_HAVE_ISAL ? "isa-l" : "zlib";
}

int oci_stats_add(struct oci_layer_stats *s, const struct oci_layer_stats *a)
{
	bool ok = oci_add_checked(&s->entries, a->entries) && oci_add_checked(&s->files, a->files) &&
	          oci_add_checked(&s->file_bytes, a->file_bytes) &&
	          oci_add_checked(&s->dirs, a->dirs) && oci_add_checked(&s->symlinks, a->symlinks) &&
	          oci_add_checked(&s->hardlinks, a->hardlinks) &&
	          oci_add_checked(&s->whiteouts, a->whiteouts) &&
	          oci_add_checked(&s->opaque_dirs, a->opaque_dirs) &&
	          oci_add_checked(&s->tar_bytes, a->tar_bytes) &&
	          oci_add_checked(&s->on_disk_bytes, a->on_disk_bytes) &&
	          oci_add_checked(&s->compressed_bytes, a->compressed_bytes);
	return ok ? 0 : -1;
}

static const struct {
	const char *name;
	size_t off;
} stat_fields[] = {
#define F(json, field) { json, offsetof(struct oci_layer_stats, field) }
	F("entries", entries),         F("files", files),
	F("fileBytes", file_bytes),    F("dirs", dirs),
	F("symlinks", symlinks),       F("hardlinks", hardlinks),
	F("whiteouts", whiteouts),     F("opaqueDirs", opaque_dirs),
	F("tarBytes", tar_bytes),      F("onDiskBytes", on_disk_bytes),
	F("compressedBytes", compressed_bytes),
#undef F
};

void oci_stats_to_json(const struct oci_layer_stats *st, json_t *obj)
{
	for (size_t i = 0; i < ARRAY_SIZE(stat_fields); i++) {
		const int64_t *v = (const int64_t *)((const char *)st + stat_fields[i].off);
		json_object_set_new(obj, stat_fields[i].name, json_integer(*v));
	}
}

int oci_stats_from_json(const json_t *obj, struct oci_layer_stats *st)
{
	for (size_t i = 0; i < ARRAY_SIZE(stat_fields); i++) {
		json_t *v = json_object_get(obj, stat_fields[i].name);
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return -1;
		*(int64_t *)((char *)st + stat_fields[i].off) = json_integer_value(v);
	}
	return 0;
}

int64_t oci_gzip_isize_estimate(const unsigned char t[4], int64_t compressed)
{
	const int64_t wrap = (int64_t)1 << 32, max_ratio = 32;
	int64_t isize = (int64_t)t[0] | (int64_t)t[1] << 8 | (int64_t)t[2] << 16 |
	                (int64_t)t[3] << 24;
	/* incompressible data grows by 5 bytes per 64 KiB, plus header and trailer */
	int64_t low = compressed - compressed / 8192 - 64;
	int64_t found = -1;
	for (int64_t u = isize; u <= compressed * max_ratio; u += wrap) {
		if (u < low)
			continue;
		if (found >= 0)
			return -1;
		found = u;
	}
	return found;
}

static int fail(struct stage *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct stage *s, const char *fmt, ...)
{
	if (!s->rc) {
		char msg[512];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		oci_err(&s->err, OCI_E_REGISTRY, "%s", msg);
	}
	s->rc = -1;
	return -1;
}

/* --- decompression -------------------------------------------------------------------- */

#if CCREG_HAVE_ISAL
static void inflate_setup(struct oci_layer *l)
{
	l->isal = oci_xmalloc(sizeof *l->isal);
	isal_inflate_init(l->isal);
	l->isal->crc_flag = ISAL_GZIP;
}

static void inflate_reset(struct oci_layer *l)
{
	isal_inflate_reset(l->isal);
	l->isal->crc_flag = ISAL_GZIP;
}

/* Inflate from l->inp/in_len into o[0, room); *got bytes produced. */
static int inflate_once(struct oci_layer *l, unsigned char *o, size_t room, size_t *got)
{
	struct inflate_state *s = l->isal;
	s->next_in = (uint8_t *)l->inp;
	s->avail_in = (uint32_t)l->in_len;
	s->next_out = o;
	s->avail_out = (uint32_t)room;
	int r = isal_inflate(s);
	l->inp = s->next_in;
	l->in_len = s->avail_in;
	*got = room - s->avail_out;
	if (r < 0)
		return fail(&l->dec, "corrupt gzip data (isa-l error %d)", r);
	if (s->block_state == ISAL_BLOCK_FINISH)
		l->member_end = true;
	return 0;
}
#else
static void inflate_setup(struct oci_layer *l)
{
	if (inflateInit2(&l->z, 16 + MAX_WBITS) != Z_OK)
		abort(); /* only fails for lack of memory */
	l->z_init = true;
}

static void inflate_reset(struct oci_layer *l)
{
	inflateReset(&l->z);
}

static int inflate_once(struct oci_layer *l, unsigned char *o, size_t room, size_t *got)
{
	z_stream *z = &l->z;
	/* inputs and ring spans are far below 4 GiB */
	z->next_in = (Bytef *)l->inp;
	z->avail_in = (uInt)l->in_len;
	z->next_out = o;
	z->avail_out = (uInt)room;
	int r = inflate(z, Z_NO_FLUSH);
	l->inp = z->next_in;
	l->in_len = z->avail_in;
	*got = room - z->avail_out;
	if (r == Z_STREAM_END)
		l->member_end = true;
	else if (r != Z_OK && r != Z_BUF_ERROR)
		return fail(&l->dec, "corrupt gzip data (%s)", z->msg ? z->msg : "zlib error");
	return 0;
}
#endif

/* Inflate all of l->inp/in_len (and output still pending) into `out`.  At
 * a member's end zero padding is skipped and another member must start.
 * 0: more input wanted; -1: failed, or the reader stopped. */
static int gunzip_run(struct oci_layer *l)
{
	for (;;) {
		if (!l->pending) {
			if (l->member_end) {
				while (l->in_len && *l->inp == 0) {
					l->inp++;
					l->in_len--;
				}
				if (!l->in_len)
					return 0;
				if (*l->inp != 0x1f)
					return fail(&l->dec, "unexpected data after the gzip stream");
				inflate_reset(l);
				l->member_end = false;
			}
			if (!l->in_len)
				return 0;
		}
		unsigned char *o;
		size_t got, room = ring_reserve(&l->out, &o);
		if (!room)
			return -1;
		int r = inflate_once(l, o, room, &got);
		ring_commit(&l->out, got);
		if (r < 0)
			return -1;
		l->pending = got == room && !l->member_end;
	}
}

/* The input ended: was it whole? */
static void gunzip_end(struct oci_layer *l)
{
	if (!l->dec.rc && !l->member_end)
		fail(&l->dec, "truncated gzip data");
}

static la_ssize_t zst_read(struct archive *a, void *ud, const void **buf)
{
	struct oci_layer *l = ud;
	const unsigned char *p;
	size_t n = ring_peek(&l->in, &p);
	(void)a;
	*buf = p;
	return (la_ssize_t)n;
}

static void unzstd(struct oci_layer *l)
{
	struct archive *a = l->zst = archive_read_new();
	struct archive_entry *e;
	if (archive_read_support_filter_zstd(a) < ARCHIVE_WARN ||
	    archive_read_support_format_raw(a) != ARCHIVE_OK ||
	    archive_read_open(a, l, NULL, zst_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		fail(&l->dec, "zstd: %s", archive_error_string(a));
		return;
	}
	for (;;) {
		const void *p;
		size_t n;
		la_int64_t off;
		int r = archive_read_data_block(a, &p, &n, &off);
		if (r == ARCHIVE_EOF)
			return;
		if (r != ARCHIVE_OK) {
			fail(&l->dec, "corrupt zstd data (%s)", archive_error_string(a));
			return;
		}
		ring_write(&l->out, p, n);
		if (l->out.failed || l->out.stop)
			return;
	}
}

static void *dec_main(void *ud)
{
	struct oci_layer *l = ud;
	unzstd(l);
	/* whatever happened, nothing more is read from `in` nor written to `out` */
	ring_flag(&l->in, &l->in.failed);
	ring_flag(&l->out, &l->out.closed);
	return NULL;
}

/* --- the tar ----------------------------------------------------------------------------- */

/* libarchive's read callback: every uncompressed byte passes here once. */
static la_ssize_t tar_read(struct archive *a, void *ud, const void **buf)
{
	struct oci_layer *l = ud;
	const unsigned char *p;
	(void)a;
	size_t n = ring_peek(l->tar_src, &p);
	*buf = p;
	if (n) {
		oci_hasher_update(l->uh, p, n);
		l->st.tar_bytes += (int64_t)n;
	}
	return (la_ssize_t)n;
}

/* Count one entry: false when a sum overflows (sizes of sparse entries are
 * whatever the header claims, up to 2^63 - 1). */
static bool count_entry(struct oci_layer_stats *st, struct archive_entry *e)
{
	const char *path = archive_entry_pathname(e);
	size_t len = path ? strlen(path) : 0;
	while (len && path[len - 1] == '/')
		len--;
	size_t b = len;
	while (b && path[b - 1] != '/')
		b--;
	const char *base = path ? path + b : "";
	size_t blen = len - b;

	st->entries++;
	if (blen == 12 && !strncmp(base, ".wh..wh..opq", 12)) {
		st->opaque_dirs++;
		return true;
	}
	if (blen > 4 && !strncmp(base, ".wh.", 4)) {
		st->whiteouts++;
		return true;
	}
	if (archive_entry_hardlink(e)) {
		st->hardlinks++;
		return true;
	}
	switch (archive_entry_filetype(e)) {
	case AE_IFDIR:
		st->dirs++;
		st->on_disk_bytes += OCI_STATS_BLOCK;
		break;
	case AE_IFLNK: {
		const char *t = archive_entry_symlink(e);
		st->symlinks++;
		/* ext4 keeps targets under 60 bytes in the inode */
		if (t && strlen(t) >= 60)
			st->on_disk_bytes += OCI_STATS_BLOCK;
		break;
	}
	case AE_IFREG: {
		int64_t size = archive_entry_size(e);
		int64_t blocks = size / OCI_STATS_BLOCK + (size % OCI_STATS_BLOCK != 0), on_disk;
		st->files++;
		if (size < 0 || __builtin_mul_overflow(blocks, (int64_t)OCI_STATS_BLOCK, &on_disk) ||
		    !oci_add_checked(&st->file_bytes, size) ||
		    !oci_add_checked(&st->on_disk_bytes, on_disk))
			return false;
		break;
	}
	default: /* devices, fifos: an inode, no blocks */
		break;
	}
	return true;
}

static void walk_tar(struct oci_layer *l)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	if (archive_read_open(a, l, NULL, tar_read, NULL) != ARCHIVE_OK) {
		fail(&l->tar, "not a tar archive (%s)", archive_error_string(a));
		goto out;
	}
	for (;;) {
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			fail(&l->tar, "malformed tar (%s)", archive_error_string(a));
			goto out;
		}
		if (!count_entry(&l->st, e)) {
			const char *name = archive_entry_pathname(e);
			fail(&l->tar, "sizes overflow: entry %s claims %lld bytes", name ? name : "?",
			     (long long)archive_entry_size(e));
			goto out;
		}
	}
	/* the diff_id covers the whole stream, past the tar's end blocks */
	const void *p;
	while (tar_read(a, l, &p) > 0)
		;
out:
	archive_read_free(a);
}

static void *tar_main(void *ud)
{
	struct oci_layer *l = ud;
	walk_tar(l);
	/* stop whoever writes to us */
	ring_flag(l->tar_src, &l->tar_src->failed);
	if (l->tar_src == &l->out)
		ring_flag(&l->in, &l->in.failed);
	return NULL;
}

/* The first bytes are in: pick the kind and start the threads. */
static void decide(struct oci_layer *l)
{
	const unsigned char *m = l->magic;
	l->decided = true;
	if (l->magic_len >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		l->kind = K_GZIP;
	else if (l->magic_len == 4 && !memcmp(m, "\x28\xb5\x2f\xfd", 4))
		l->kind = K_ZSTD;
	else
		l->kind = K_NONE;
	l->tar_src = l->kind == K_NONE ? &l->in : &l->out;
	if (l->kind == K_GZIP)
		inflate_setup(l);
	l->inline_gzip = l->kind == K_GZIP;
	if (l->inline_gzip)
		l->stage = oci_xmalloc(STAGE_SIZE);
	if (l->kind == K_ZSTD) {
		if (pthread_create(&l->dec.thread, NULL, dec_main, l) != 0) {
			fail(&l->dec, "cannot start a thread");
			l->in.failed = l->out.failed = true;
			return;
		}
		l->dec.started = true;
	}
	if (pthread_create(&l->tar.thread, NULL, tar_main, l) != 0) {
		fail(&l->tar, "cannot start a thread");
		ring_flag(&l->in, &l->in.failed);
		ring_flag(&l->out, &l->out.failed);
		return;
	}
	l->tar.started = true;
}

static void flush_stage(struct oci_layer *l)
{
	if (l->staged && !l->dec.rc && !l->out.failed) {
		l->inp = l->stage;
		l->in_len = l->staged;
		gunzip_run(l);
	}
	l->staged = 0;
}

static void push(struct oci_layer *l, const void *p, size_t n)
{
	if (!n)
		return;
	if (!l->inline_gzip) {
		ring_write(&l->in, p, n);
		return;
	}
	if (l->dec.rc || l->out.failed)
		return; /* dropped: the analyzer gave up */
	/* network chunks are small: inflating in bigger steps costs less */
	if (n < STAGE_SIZE - l->staged) {
		memcpy(l->stage + l->staged, p, n);
		l->staged += n;
		return;
	}
	flush_stage(l);
	l->inp = p;
	l->in_len = n;
	gunzip_run(l);
}

int oci_layer_feed(void *ud, const void *p, size_t n, oci_error *err)
{
	struct oci_layer *l = ud;
	const unsigned char *s = p;
	(void)err;
	l->compressed += (int64_t)n;
	if (l->ch)
		oci_hasher_update(l->ch, p, n);
	if (!l->decided) {
		size_t k = n < 4 - l->magic_len ? n : 4 - l->magic_len;
		memcpy(l->magic + l->magic_len, s, k);
		l->magic_len += k;
		s += k;
		n -= k;
		if (l->magic_len < 4)
			return 0;
		decide(l);
		push(l, l->magic, l->magic_len);
	}
	push(l, s, n);
	return 0;
}

/* --- lifecycle --------------------------------------------------------------------------- */

struct oci_layer *oci_layer_new(enum oci_compression hint, const char *digest,
                                const char *diff_id)
{
	struct oci_layer *l = oci_xcalloc(1, sizeof *l);
	l->hint = hint;
	l->want_digest = oci_xstrdup(digest);
	l->want_diff_id = oci_xstrdup(diff_id);
	ring_init(&l->in);
	ring_init(&l->out);
	if (digest && !(l->ch = oci_hasher_for(digest)))
		fail(&l->tar, "unsupported digest algorithm in %s", digest);
	l->uh = diff_id ? oci_hasher_for(diff_id) : oci_hasher_new("sha256");
	if (!l->uh) {
		fail(&l->tar, "unsupported digest algorithm in %s", diff_id);
		l->uh = oci_hasher_new("sha256");
	}
	if (l->tar.rc)
		l->decided = l->in.failed = l->out.failed = true;
	return l;
}

static void join(struct oci_layer *l, bool stop)
{
	if (stop) {
		ring_flag(&l->in, &l->in.stop);
		ring_flag(&l->out, &l->out.stop);
	} else {
		if (!l->decided) {
			decide(l);
			push(l, l->magic, l->magic_len);
		}
		if (l->inline_gzip) {
			flush_stage(l);
			gunzip_end(l);
		}
		ring_flag(&l->in, &l->in.closed);
		if (l->inline_gzip)
			ring_flag(&l->out, &l->out.closed);
	}
	if (l->tar.started)
		pthread_join(l->tar.thread, NULL);
	if (l->dec.started)
		pthread_join(l->dec.thread, NULL);
	l->tar.started = l->dec.started = false;
}

int oci_layer_finish(struct oci_layer *l, struct oci_layer_stats *out,
                     char diff_id_out[OCI_DIGEST_MAX], oci_error *err)
{
	char dg[OCI_DIGEST_MAX];
	join(l, false);
	if (l->ch) {
		oci_hasher_final(l->ch, dg);
		oci_hasher_free(l->ch);
		l->ch = NULL;
		if (strcmp(dg, l->want_digest) != 0)
			return oci_err(err, OCI_E_REGISTRY, "%s: digest mismatch: the blob hashes to %s",
			               l->want_digest, dg);
	}
	/* a decompression failure explains the tar stage's */
	struct stage *failed = l->dec.rc ? &l->dec : l->tar.rc ? &l->tar : NULL;
	if (failed) {
		if (err)
			*err = failed->err;
		return -1;
	}
	oci_hasher_final(l->uh, dg);
	oci_hasher_free(l->uh);
	l->uh = NULL;
	if (l->want_diff_id && strcmp(dg, l->want_diff_id) != 0)
		return oci_err(err, OCI_E_REGISTRY,
		               "diff_id mismatch: the uncompressed layer hashes to %s, the config says %s",
		               dg, l->want_diff_id);
	if (diff_id_out)
		memcpy(diff_id_out, dg, OCI_DIGEST_MAX);
	*out = l->st;
	out->compressed_bytes = l->compressed;
	return 0;
}

void oci_layer_free(struct oci_layer *l)
{
	if (!l)
		return;
	join(l, true);
#if CCREG_HAVE_ISAL
	free(l->isal);
#else
	if (l->z_init)
		inflateEnd(&l->z);
#endif
	if (l->zst)
		archive_read_free(l->zst);
	oci_hasher_free(l->ch);
	oci_hasher_free(l->uh);
	ring_release(&l->in);
	ring_release(&l->out);
	free(l->stage);
	free(l->want_digest);
	free(l->want_diff_id);
	free(l);
}
