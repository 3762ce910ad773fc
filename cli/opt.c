/* cli/opt.c: the option parser and the help printer over struct cli_opt. */
#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/opt.h"

#define HELP_WIDTH 80 /* the longest line, in columns */
#define HELP_MAX_COLUMN 32
/* getopt_long returns this plus the table index for a long option, far
 * from any short option's character. */
#define LONG_BASE 0x10000

static bool takes_value(const struct cli_opt *o)
{
	return o->kind == CLI_OPT_VALUE || o->kind == CLI_OPT_LIST;
}

static void add_opt(struct cli_opt_parser *p, size_t *n, const struct cli_opt *o)
{
	if (o->flags & CLI_OPT_GLOBAL)
		return;
	/* subcommands may share an option (catalog's union) */
	for (size_t i = 0; i < *n; i++)
		if (p->table[i]->id == o->id)
			return;
	assert(*n < CLI_OPT_MAX);
	p->table[*n] = o;
	if (o->long_name)
		p->longs[*n] = (struct option){ o->long_name, takes_value(o) ? required_argument : no_argument,
		                                NULL, LONG_BASE + (int)*n };
	if (o->short_name) {
		size_t l = strlen(p->shorts);
		p->shorts[l++] = o->short_name;
		if (takes_value(o))
			p->shorts[l++] = ':';
		p->shorts[l] = '\0';
	}
	(*n)++;
}

void cli_opt_init(struct cli_opt_parser *p, const struct cli_cmd_spec *spec, int argc, char **argv)
{
	size_t n = 0;
	memset(p, 0, sizeof *p);
	p->spec = spec;
	p->argc = argc;
	p->argv = argv;
	for (const struct cli_opt *o = spec->opts; o && o->id; o++)
		add_opt(p, &n, o);
	for (const struct cli_cmd_spec *const *s = spec->subcommands; s && *s; s++)
		for (const struct cli_opt *o = (*s)->opts; o && o->id; o++)
			add_opt(p, &n, o);
	/* long-only entries left holes: close them up for getopt */
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (p->longs[i].name)
			p->longs[w++] = p->longs[i];
	memset(&p->longs[w], 0, sizeof p->longs[w]);
	optind = 0; /* glibc: a full reset, argv may be another one */
	opterr = 0;
}

int cli_opt_next(struct cli_opt_parser *p)
{
	optopt = 0;
	int ch = getopt_long(p->argc, p->argv, p->shorts, p->longs, NULL);
	p->opt = NULL;
	p->value = NULL;
	if (ch == -1)
		return CLI_OPT_DONE;
	if (ch == '?' || ch == ':') {
		if (optopt > 0 && optopt < 256) {
			/* a short option, maybe inside a bundle: name just it */
			p->bad_short[0] = '-';
			p->bad_short[1] = (char)optopt;
			p->bad = p->bad_short;
		} else {
			p->bad = optind - 1 < p->argc && optind > 0 ? p->argv[optind - 1] : "?";
		}
		return CLI_OPT_UNKNOWN;
	}
	if (ch >= LONG_BASE) {
		p->opt = p->table[ch - LONG_BASE];
	} else {
		for (size_t i = 0; i < CLI_OPT_MAX && p->table[i]; i++)
			if (p->table[i]->short_name == ch)
				p->opt = p->table[i];
	}
	if (!p->opt) {
		p->bad = "?";
		return CLI_OPT_UNKNOWN;
	}
	p->value = takes_value(p->opt) ? optarg : NULL;
	return p->opt->id;
}

static const struct cli_opt *find_long(const struct cli_opt *opts, const char *name, size_t len)
{
	for (const struct cli_opt *o = opts; o->id; o++)
		if (o->long_name && strlen(o->long_name) == len && strncmp(o->long_name, name, len) == 0)
			return o;
	return NULL;
}

static const struct cli_opt *find_short(const struct cli_opt *opts, char c)
{
	for (const struct cli_opt *o = opts; o->id; o++)
		if (o->short_name && o->short_name == c)
			return o;
	return NULL;
}

/* Whether a is a bundle of short flags of opts ("-vq"). */
static bool short_flags(const struct cli_opt *opts, const char *a)
{
	for (const char *c = a + 1; *c; c++) {
		const struct cli_opt *o = find_short(opts, *c);
		if (!o || takes_value(o))
			return false;
	}
	return a[1] != '\0';
}

int cli_opt_extract(const struct cli_opt *opts, int *argc, char **argv,
                    int (*fn)(void *ud, const struct cli_opt *o, const char *value), void *ud,
                    const char **bad)
{
	int out = 0;
	bool ended = false;
	for (int i = 0; i < *argc; i++) {
		char *a = argv[i];
		const struct cli_opt *o = NULL;
		const char *val = NULL;
		if (ended || a[0] != '-' || a[1] == '\0') {
			argv[out++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			ended = true;
			argv[out++] = a;
			continue;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			o = find_long(opts, a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
			if (o && eq && !takes_value(o))
				o = NULL; /* --json=1: the command reports it */
			val = o && eq ? eq + 1 : NULL;
		} else if ((o = find_short(opts, a[1])) && takes_value(o)) {
			val = a[2] ? a + 2 : NULL;
		} else if (short_flags(opts, a)) {
			for (const char *c = a + 1; *c; c++)
				if (fn(ud, find_short(opts, *c), NULL) < 0)
					goto stopped;
			continue;
		} else {
			o = NULL;
		}
		if (!o) {
			argv[out++] = a;
			continue;
		}
		if (takes_value(o) && !val) {
			if (i + 1 >= *argc) {
				*bad = a;
				goto stopped;
			}
			val = argv[++i];
		}
		if (fn(ud, o, val) < 0)
			goto stopped;
	}
	argv[out] = NULL;
	*argc = out;
	return 0;
stopped:
	argv[out] = NULL;
	*argc = out;
	return -1;
}

/* --- help ------------------------------------------------------------------ */

struct item {
	char left[128];
	size_t len;
	const char *help;
	int id; /* options: listed once */
};

struct items {
	struct item it[CLI_OPT_MAX];
	size_t n;
};

static void add_item(struct items *l, int id, const char *help, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add_item(struct items *l, int id, const char *help, const char *fmt, ...)
{
	if (l->n == CLI_OPT_MAX)
		return;
	struct item *it = &l->it[l->n++];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(it->left, sizeof it->left, fmt, ap);
	va_end(ap);
	it->len = n < 0 ? 0 : strlen(it->left);
	it->help = help;
	it->id = id;
}

static void add_opts(struct items *l, const struct cli_opt *opts)
{
	for (const struct cli_opt *o = opts; o && o->id; o++) {
		bool seen = false;
		for (size_t i = 0; i < l->n; i++)
			seen |= l->it[i].id == o->id;
		if (seen)
			continue;
		char name[64];
		if (o->short_name && o->long_name)
			snprintf(name, sizeof name, "-%c, --%s", o->short_name, o->long_name);
		else if (o->short_name)
			snprintf(name, sizeof name, "-%c", o->short_name);
		else
			snprintf(name, sizeof name, "    --%s", o->long_name);
		if (takes_value(o) && o->value_name)
			add_item(l, o->id, o->help, "  %s %s", name, o->value_name);
		else
			add_item(l, o->id, o->help, "  %s", name);
	}
}

/* Print text from column col, the cursor being at column at; wrapped. */
static void wrap(FILE *f, const char *s, size_t col, size_t at)
{
	if (at + 2 > col) {
		fputc('\n', f);
		at = 0;
	}
	fprintf(f, "%*s", (int)(col - at), "");
	at = col;
	for (bool first = true; *(s += strspn(s, " ")); first = false) {
		size_t w = strcspn(s, " ");
		if (!first && at + 1 + w > HELP_WIDTH) {
			fprintf(f, "\n%*s", (int)col, "");
			at = col;
		} else if (!first) {
			fputc(' ', f);
			at++;
		}
		fwrite(s, 1, w, f);
		at += w;
		s += w;
	}
	fputc('\n', f);
}

/* A blank line, the heading and the items, help aligned in one column
 * (items too wide for it put their help on the next line). */
static void print_items(FILE *f, const char *heading, const struct items *l)
{
	size_t col = 0;
	if (!l->n)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (l->it[i].len + 2 > col && l->it[i].len + 2 <= HELP_MAX_COLUMN)
			col = l->it[i].len + 2;
	if (!col)
		col = HELP_MAX_COLUMN;
	if (heading)
		fprintf(f, "\n%s\n", heading);
	for (size_t i = 0; i < l->n; i++) {
		fputs(l->it[i].left, f);
		if (l->it[i].help && *l->it[i].help)
			wrap(f, l->it[i].help, col, l->it[i].len);
		else
			fputc('\n', f);
	}
}

void cli_opt_list_fprint(FILE *f, const char *heading, const struct cli_opt *opts)
{
	struct items l = { .n = 0 };
	add_opts(&l, opts);
	print_items(f, heading, &l);
}

void cli_opt_usage_fprint(FILE *f, const struct cli_cmd_spec *spec)
{
	const char *const *syn = spec->synopsis;
	struct items l = { .n = 0 };

	fprintf(f, "Usage: ccreg %s\n", syn && syn[0] ? syn[0] : spec->name);
	for (size_t i = 1; syn && syn[i]; i++)
		fprintf(f, "       ccreg %s\n", syn[i]);
	if (spec->description)
		fprintf(f, "\n%s", spec->description);

	for (const struct cli_cmd_spec *const *s = spec->subcommands; s && *s; s++)
		add_item(&l, 0, (*s)->summary, "  %s",
		         (*s)->synopsis && (*s)->synopsis[0] ? (*s)->synopsis[0] : (*s)->name);
	print_items(f, "Subcommands:", &l);

	l.n = 0;
	for (const struct cli_arg *a = spec->args; a && a->name; a++)
		if (a->help)
			add_item(&l, 0, a->help, "  %s", a->name);
	print_items(f, "Arguments:", &l);

	/* the command's options, then its subcommands' (the parser takes them
	 * all), each once */
	l.n = 0;
	add_opts(&l, spec->opts);
	for (const struct cli_cmd_spec *const *s = spec->subcommands; s && *s; s++)
		add_opts(&l, (*s)->opts);
	print_items(f, "Options:", &l);

	if (spec->epilog)
		fprintf(f, "\n%s", spec->epilog);
}
