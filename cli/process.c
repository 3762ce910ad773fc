/* cli/process.c: the process around a command: standard descriptors held,
 * signals taken by one thread that removes temporary files, standard output
 * checked at the end (see cli/process.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/process.h"
#include "oci/error.h"
#include "oci/file.h"
#include "oci/util.h"

/* A closed standard descriptor would be handed to the next file or socket
 * opened, and output meant for stdout would land there: hold each closed
 * one with /dev/null, read-only for stdout so that writing still fails. */
void cli_hold_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = open("/dev/null", fd == 1 ? O_RDONLY : O_RDWR);
		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
}

/* SIGINT, SIGTERM and SIGHUP go to one thread (every other thread blocks
 * them): it removes the temporary files being written, then ends the
 * process by the same signal, so that the shell sees what ended it.  A
 * signal ignored when ccreg started (nohup, a background job) stays
 * ignored. */
static sigset_t taken;
static pthread_t signal_tid;
static bool have_signal_thread;

static void *signal_thread(void *ud)
{
	(void)ud;
	int sig = 0;
	while (sigwait(&taken, &sig) != 0)
		;
	oci_file_remove_temps();
	signal(sig, SIG_DFL);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	_exit(128 + sig);
}

void cli_take_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	sigemptyset(&taken);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		struct sigaction sa;
		if (sigaction(sigs[i], NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
			sigaddset(&taken, sigs[i]);
	}
	pthread_sigmask(SIG_BLOCK, &taken, NULL);
	if (pthread_create(&signal_tid, NULL, signal_thread, NULL) == 0)
		have_signal_thread = true;
	else
		pthread_sigmask(SIG_UNBLOCK, &taken, NULL);
}

void cli_release_signals(void)
{
	/* sigwait is a cancellation point: the thread ends there, and its
	 * stack is freed before the process exits (valgrind saw it lost) */
	if (have_signal_thread && pthread_cancel(signal_tid) == 0)
		pthread_join(signal_tid, NULL);
	have_signal_thread = false;
}

/* Output that could not be written is a local I/O failure (exit 5), not
 * success: check what is still buffered and the stream's error flag. */
int cli_close_stdout(int rc)
{
	errno = 0;
	bool failed = fflush(stdout) != 0;
	int e = errno;
	failed |= ferror(stdout) != 0;
	if (fclose(stdout) != 0 && !failed) {
		failed = true;
		e = errno;
	}
	/* a failed command has said why already; one error line is enough */
	if (!failed || (rc != 0 && rc != OCI_E_CHECK))
		return rc;
	fprintf(stderr, "ccreg: write error on standard output: %s\n", strerror(e ? e : EIO));
	return OCI_E_IO;
}
