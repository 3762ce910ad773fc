/* cli/cmd_stubs.c: commands not yet written (each is removed from here when
 * its cmd_NAME.c lands). */
#include "cli/commands.h"

#define STUB(name)                                                              \
	const char cmd_##name##_usage[] = "Usage: ccreg " #name "\n\nNot available yet.\n"; \
	int cmd_##name(struct cli_ctx *ctx, int argc, char **argv)              \
	{                                                                       \
		(void)ctx, (void)argc, (void)argv;                              \
		return cli_usage_error(#name, "not available in this build");  \
	}

