/* cli/process.h: what main() does around a command, apart from parsing. */
#ifndef CCREG_CLI_PROCESS_H
#define CCREG_CLI_PROCESS_H

/* A closed standard descriptor would be handed to the next file or socket
 * opened: hold each closed one with /dev/null. */
void cli_hold_std_fds(void);
/* SIGINT, SIGTERM and SIGHUP (unless ignored at start) go to one thread that
 * removes the temporary files being written, then ends the process by the
 * same signal. */
void cli_take_signals(void);
/* Flush and close stdout: rc, or OCI_E_IO (5) when the output could not be
 * written (said on stderr unless the command failed already). */
int cli_close_stdout(int rc);
/* End the signal thread (before returning from main). */
void cli_release_signals(void);

#endif
