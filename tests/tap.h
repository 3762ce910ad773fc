/* tests/tap.h: a minimal TAP producer for meson's `protocol: 'tap'`. */
#ifndef CCREG_TESTS_TAP_H
#define CCREG_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	if (!cond)
		tap_failed++;
}

#define ok(cond, ...) tap_ok(!!(cond), __VA_ARGS__)
#define is_str(got, want, name)                                                   \
	do {                                                                        \
		const char *g_ = (got), *w_ = (want);                               \
		int same_ = (!g_ && !w_) || (g_ && w_ && strcmp(g_, w_) == 0);      \
		tap_ok(same_, "%s", (name));                                        \
		if (!same_)                                                         \
			printf("#   got: %s\n#  want: %s\n", g_ ? g_ : "(null)",   \
			       w_ ? w_ : "(null)");                                 \
	} while (0)
#define is_int(got, want, name)                                                   \
	do {                                                                        \
		long long g_ = (got), w_ = (want);                                  \
		tap_ok(g_ == w_, "%s", (name));                                     \
		if (g_ != w_)                                                       \
			printf("#   got: %lld\n#  want: %lld\n", g_, w_);           \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
