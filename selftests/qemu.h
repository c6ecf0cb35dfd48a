/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QEMU run from a selftest: started with its qtest and QMP sockets, its
 * guest memory written through qtest ("writeq ADDR VALUE", which QEMU
 * carries out with its own address-space write path), and driven over QMP
 * (commands whose reply is awaited line by line; events are skipped).
 */
#ifndef _DIRTYBIT_SELFTEST_QEMU_H
#define _DIRTYBIT_SELFTEST_QEMU_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#define QEMU_BIN	"qemu-system-x86_64"
/* How long to wait for QEMU to open a socket (nested TCG starts slowly). */
#define QEMU_CONNECT_TRIES	1200	/* of 50 ms */

/*
 * Starts QEMU with @argv (NULL-terminated, QEMU_BIN first), its output to
 * @log; it dies with the calling process (a test that fails an assertion
 * leaves no QEMU behind).
 */
static inline pid_t qemu_start(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (!pid) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)	/* the test died before the prctl */
			_exit(127);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static inline void qemu_kill(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/*
 * A stream on unix socket @path once QEMU @pid listens there; NULL if it
 * died or never did.  Read only: commands go out with dprintf() on its fd,
 * as a read-write stdio stream would lose its next write (an lseek on the
 * socket fails) while it holds unread input, such as an event behind a
 * reply.
 */
static inline FILE *qemu_connect(const char *path, pid_t pid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int i, fd;

	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	for (i = 0; i < QEMU_CONNECT_TRIES; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return NULL;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fdopen(fd, "r");
		close(fd);
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return NULL;
		usleep(50000);
	}
	return NULL;
}

/* One line from @f into @buf (its newline dropped); 0, or -EIO at EOF. */
static inline int qemu_line(FILE *f, char *buf, size_t size)
{
	size_t n;

	if (!fgets(buf, size, f))
		return -EIO;
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

/* qtest: writes the 8 bytes of @value at guest physical @addr; 0 or -EIO. */
static inline int qtest_writeq(FILE *qt, unsigned long addr, unsigned long value)
{
	char line[128];

	if (dprintf(fileno(qt), "writeq 0x%lx 0x%lx\n", addr, value) < 0)
		return -EIO;
	if (qemu_line(qt, line, sizeof(line)))
		return -EIO;
	return strcmp(line, "OK") ? -EIO : 0;
}

/*
 * QMP: sends command @json and reads up to its reply (events before it are
 * skipped) into @reply; 0 for a "return", -EINVAL for an "error" (in
 * @reply), -EIO if QEMU went away.
 */
static inline int qmp_cmd(FILE *qmp, const char *json, char *reply, size_t size)
{
	if (dprintf(fileno(qmp), "%s\n", json) < 0)
		return -EIO;
	for (;;) {
		if (qemu_line(qmp, reply, size))
			return -EIO;
		if (!strncmp(reply, "{\"return\"", 9))
			return 0;
		if (!strncmp(reply, "{\"error\"", 8))
			return -EINVAL;
	}
}

/* QMP: connects, reads the greeting, enters command mode; NULL on failure. */
static inline FILE *qmp_open(const char *path, pid_t pid)
{
	FILE *qmp = qemu_connect(path, pid);
	char line[4096];

	if (!qmp)
		return NULL;
	if (qemu_line(qmp, line, sizeof(line)) || !strstr(line, "\"QMP\"") ||
	    qmp_cmd(qmp, "{\"execute\": \"qmp_capabilities\"}", line, sizeof(line))) {
		fclose(qmp);
		return NULL;
	}
	return qmp;
}

/*
 * QMP: polls query-migrate until the migration ends (at most @tries
 * times, 100 ms apart); its final status ("completed", "failed", ...)
 * into @status, or "timeout".
 */
static inline void qmp_migration_end(FILE *qmp, int tries, char *status, size_t size)
{
	static const char *const ends[] = { "completed", "failed", "cancelled" };
	char reply[8192];
	unsigned int i;

	snprintf(status, size, "timeout");
	while (tries-- > 0) {
		if (qmp_cmd(qmp, "{\"execute\": \"query-migrate\"}", reply, sizeof(reply))) {
			snprintf(status, size, "query-migrate: %s", reply);
			return;
		}
		for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
			char want[64];

			snprintf(want, sizeof(want), "\"status\": \"%s\"", ends[i]);
			if (strstr(reply, want)) {
				snprintf(status, size, "%s", ends[i]);
				return;
			}
		}
		usleep(100000);
	}
}

/*
 * QMP: migrates to (@cmd "migrate") or from ("migrate-incoming") file
 * @path with the mapped-ram capability on; its final status into @status
 * (see qmp_migration_end()), or the error QEMU gave.
 */
static inline void qmp_mapped_ram(FILE *qmp, const char *cmd, const char *path, int tries,
				  char *status, size_t size)
{
	char json[512], reply[8192];

	if (qmp_cmd(qmp, "{\"execute\": \"migrate-set-capabilities\", \"arguments\": "
		    "{\"capabilities\": [{\"capability\": \"mapped-ram\", \"state\": true}]}}",
		    reply, sizeof(reply))) {
		snprintf(status, size, "migrate-set-capabilities: %s", reply);
		return;
	}
	snprintf(json, sizeof(json), "{\"execute\": \"%s\", \"arguments\": "
		 "{\"uri\": \"file:%s\"}}", cmd, path);
	if (qmp_cmd(qmp, json, reply, sizeof(reply))) {
		snprintf(status, size, "%s: %s", cmd, reply);
		return;
	}
	qmp_migration_end(qmp, tries, status, size);
}

#endif /* _DIRTYBIT_SELFTEST_QEMU_H */
