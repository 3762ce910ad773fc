/* cli/junit.c: see junit.h. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/junit.h"
#include "oci/cleanup.h"
#include "oci/file.h"

static void xml_put(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '\n': fputs("&#10;", f); break;
		case '\t': fputs("&#9;", f); break;
		default: fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
		}
	}
}

static void write_case(FILE *f, const struct cli_junit_case *c)
{
	static const char *const el[] = { NULL, "failure", "error", "skipped" };

	fputs("    <testcase classname=\"", f);
	xml_put(f, c->classname);
	fputs("\" name=\"", f);
	xml_put(f, c->name);
	fputs("\">\n", f);
	if (c->result == CLI_JUNIT_SKIPPED) {
		fputs("      <skipped message=\"", f);
		xml_put(f, c->message);
		fputs("\"/>\n", f);
	} else if (c->result != CLI_JUNIT_PASS) {
		fprintf(f, "      <%s type=\"", el[c->result]);
		xml_put(f, c->type);
		fputs("\" message=\"", f);
		xml_put(f, c->message);
		fputs("\">", f);
		xml_put(f, c->text);
		fprintf(f, "</%s>\n", el[c->result]);
	}
	fputs("      <system-out>", f);
	xml_put(f, c->out);
	fputs("</system-out>\n    </testcase>\n", f);
}

int cli_junit_write(const char *path, const char *suite, const struct cli_junit_case *cases,
                    size_t n, double secs, oci_error *err)
{
	size_t count[4] = { 0 };
	for (size_t i = 0; i < n; i++)
		count[cases[i].result]++;

	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		abort();
	for (int level = 0; level < 2; level++) {
		fprintf(f, "%s<%s name=\"", level ? "  " : "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
		        level ? "testsuite" : "testsuites");
		xml_put(f, suite);
		fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" "
		           "time=\"%.3f\">\n",
		        n, count[CLI_JUNIT_FAILURE], count[CLI_JUNIT_ERROR], count[CLI_JUNIT_SKIPPED], secs);
	}
	for (size_t i = 0; i < n; i++)
		write_case(f, &cases[i]);
	fputs("  </testsuite>\n</testsuites>\n", f);
	if (fclose(f) != 0)
		abort(); /* only allocation can fail in a memory stream */
	return oci_file_replace(path, text, len, 0644, err);
}
