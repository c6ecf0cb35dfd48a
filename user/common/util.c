// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "util.h"

int errf(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

bool progress_due(double *last, double now)
{
	if (now - *last < 0.2)
		return false;
	*last = now;
	return true;
}

bool mem_is_zero(const void *p, size_t n)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < n / 8; i++)
		if (w[i])
			return false;
	return true;
}

uint64_t zero_run_end(const unsigned char *buf, size_t unit, uint64_t i, uint64_t n,
		      bool *zero)
{
	*zero = mem_is_zero(buf + i * unit, unit);
	while (++i < n && mem_is_zero(buf + i * unit, unit) == *zero)
		;
	return i;
}

uint64_t bits_weight(const uint64_t *words, uint64_t nbits)
{
	uint64_t i, n = 0;

	for (i = 0; i < nbits / 64; i++)
		n += (uint64_t)__builtin_popcountll(words[i]);
	if (nbits % 64)
		n += (uint64_t)__builtin_popcountll(words[i] & ((1ULL << (nbits % 64)) - 1));
	return n;
}

int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, ret = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* EINVAL: a file system that cannot sync a directory (nothing to do). */
	if (fd < 0 || (fsync(fd) && errno != EINVAL))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return ret;
}

int run_shell(const char *cmd, const volatile sig_atomic_t *stop)
{
	bool sent = false;
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		setpgid(0, 0);
		signal(SIGXFSZ, SIG_DFL);	/* the CLI ignores it; the command need not */
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);	/* whichever runs first: the group exists to be signalled */
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
		/* Told to stop: so is the command, all of it. */
		if (stop && *stop && !sent) {
			kill(-pid, SIGTERM);
			sent = true;
		}
	}
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -ECANCELED;
}

int stop_requested(const volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	if (!stop || !*stop)
		return 0;
	return errf(err, errlen, -EINTR, "interrupted");
}

int run_command(const char *cmd, const volatile sig_atomic_t *stop, const char *failed,
		char *err, size_t errlen)
{
	int ret;

	if (!run_shell(cmd, stop))
		return 0;
	ret = stop_requested(stop, err, errlen);
	if (!ret)
		ret = errf(err, errlen, -ECANCELED, "%s", failed);
	return ret;
}
