/* cli/progress.h: transfer progress on stderr, fed by the blob step's
 * callback (registry/blobcopy.h; from several threads) in copy, push, pull
 * and assemble.
 *
 * On a terminal: a live display, one line per blob in flight and a total
 * line (bytes, rate, ETA), redrawn at most 10 times a second.  When stderr
 * is not a terminal: a plain line every 5 seconds.  With -q: nothing.  The
 * counters (blobs skipped, mounted, transferred; bytes) are kept either way
 * for the summary and --json.
 */
#ifndef CCREG_CLI_PROGRESS_H
#define CCREG_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/cli.h"
#include "registry/blobcopy.h"

struct cli_progress_stats {
	size_t blobs, existed, mounted, transferred;
	int64_t bytes; /* moved over the network (or compressed input read) */
	double seconds;
};

struct cli_progress;

/* verb: "push", "copy", "pull", "assemble".  total_bytes: the plan's blob bytes (-1
 * when unknown: then the sizes the START events give are summed). */
struct cli_progress *cli_progress_new(const struct cli_ctx *ctx, const char *verb,
                                      int64_t total_bytes, size_t n_blobs);
/* The callback and its user data for struct reg_progress. */
void cli_progress_event(void *ud, enum reg_progress_ev ev, const char *digest, int64_t n);
static inline struct reg_progress cli_progress_hook(struct cli_progress *p)
{
	return (struct reg_progress){ .fn = cli_progress_event, .ud = p };
}
/* Clear the live display; with summary, print the summary line (unless -q).
 * stats (optional) receives the counters. */
void cli_progress_finish(struct cli_progress *p, bool summary, struct cli_progress_stats *stats);
void cli_progress_free(struct cli_progress *p);
/* stdout: the digest, or with --json {digest, mediaType, destination,
 * blobs, transferred, existed, mounted, bytes, seconds}. */
void cli_progress_report(const struct cli_ctx *ctx, const char *digest, const char *media_type,
                         const char *dest, const struct cli_progress_stats *st);

/* A repeated --platform for copy and pull: parse and append to *plats;
 * -1 (usage message printed) on a malformed platform. */
struct oci_platform;
int cli_add_platform(const char *cmd, const char *s, struct oci_platform **plats, size_t *n);
void cli_free_platforms(struct oci_platform *plats, size_t n);

#endif
