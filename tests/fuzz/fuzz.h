/* tests/fuzz/fuzz.h: helpers shared by the libFuzzer targets.
 *
 * Each fuzz-NAME.c defines LLVMFuzzerTestOneInput().  Built with
 * -Dfuzz=true (clang) it links libFuzzer and is a real fuzzer; otherwise it
 * links replay.c, whose main() feeds it every file of its corpus, so the
 * committed seeds (and every crasher added to them) run as plain tests.
 *
 * A target fails by crashing: sanitizers catch memory errors, and
 * FUZZ_ASSERT aborts when a property (round trip, invariant) is broken.
 */
#ifndef CCREG_TESTS_FUZZ_H
#define CCREG_TESTS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                          \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, \
			        __LINE__, #cond);                                  \
			abort();                                                   \
		}                                                                  \
	} while (0)

/* The input as a C string (cut at the first NUL, as any header or argument
 * would be).  Caller frees. */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
