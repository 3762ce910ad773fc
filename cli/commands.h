/* cli/commands.h: every command's entry point and option/help spec. */
#ifndef CCREG_CLI_COMMANDS_H
#define CCREG_CLI_COMMANDS_H

#include "cli/cli.h"

#define CLI_DECLARE(name)                                                  \
	int cmd_##name(struct cli_ctx *ctx, int argc, char **argv);        \
	extern const struct cli_cmd_spec cmd_##name##_spec

CLI_DECLARE(assemble);
CLI_DECLARE(push);
CLI_DECLARE(copy);
CLI_DECLARE(pull);
CLI_DECLARE(manifest);
CLI_DECLARE(digest);
CLI_DECLARE(inspect);
CLI_DECLARE(config);
CLI_DECLARE(tags);
CLI_DECLARE(referrers);
CLI_DECLARE(blob);
CLI_DECLARE(audit);
CLI_DECLARE(verify);
CLI_DECLARE(status);
CLI_DECLARE(catalog);
CLI_DECLARE(login);
CLI_DECLARE(logout);
/* hidden: generators of the man page and shell completion (cli/man.c,
 * cli/complete.c), not listed by `ccreg help` */
CLI_DECLARE(man);
CLI_DECLARE(complete);
CLI_DECLARE(completion);

#endif
