/*
 * nsenter: the namespace stage of `berth init` (DESIGN.md, "The runtime's process model").
 *
 * A constructor linked into the NativeAOT binary. It runs before the .NET runtime starts, while
 * the process is still single-threaded: setns() into a user or mount namespace and
 * unshare(CLONE_NEWUSER) refuse multi-threaded callers, and a pid or time namespace only applies
 * to children, so the fork has to happen here, in plain C.
 *
 * It does nothing unless _BERTH_BOOTSTRAP names the bootstrap pipe. Then:
 *   1. reads the bootstrap message (clone flags, namespace fds to join, time offsets);
 *   2. joins namespaces by fd, the user namespace first;
 *   3. unshares the new ones, the user namespace first (the launcher writes uid/gid maps);
 *   4. asks the launcher to place it in every cgroup, then unshares the cgroup namespace,
 *      so that namespace is rooted at the container's cgroup;
 *   5. writes time offsets (before any process enters the new time namespace);
 *   6. forks with CLONE_PARENT: the child enters the pid and time namespaces and is a child
 *      of the launcher itself (so `run` and `exec` can wait for it); the parent reports its
 *      pid and exits.
 * The child returns from the constructor and the .NET runtime starts `berth init` inside.
 *
 * Messages on the sync socket are framed as {u32 type, u32 length, payload}; the C# side
 * (src/Berth.Runtime/Protocol/SyncSocket.cs) uses the same numbers.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

enum sync_type {
	SYNC_USERMAP_REQUEST = 1,
	SYNC_USERMAP_DONE = 2,
	SYNC_CGROUP_REQUEST = 3,
	SYNC_CGROUP_DONE = 4,
	SYNC_CHILD_PID = 5,
	SYNC_ERROR = 6,
};

#define BOOT_MAGIC 0x48545242u /* "BRTH" */
#define MAX_JOIN 16

struct boot_header {
	uint32_t magic;
	uint32_t sync_fd;
	uint32_t clone_flags;
	uint32_t njoin;
	uint32_t timens_len;
};

struct boot_join {
	uint32_t nstype;
	uint32_t fd;
};

static int sync_fd = -1;

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EPIPE;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_msg(uint32_t type, const void *payload, uint32_t len)
{
	uint32_t hdr[2] = { type, len };
	if (write_all(sync_fd, hdr, sizeof(hdr)) < 0)
		return -1;
	return len ? write_all(sync_fd, payload, len) : 0;
}

/* Reports "nsenter: <what>: <errno text>" to the launcher (or stderr before the socket is known) and exits. */
static void __attribute__((noreturn, format(printf, 1, 2))) bail(const char *fmt, ...)
{
	char msg[512];
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(msg) && saved != 0)
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(saved));
	if (sync_fd < 0 || send_msg(SYNC_ERROR, msg, (uint32_t)strlen(msg)) < 0) {
		write_all(2, "berth: nsenter: ", 16);
		write_all(2, msg, strlen(msg));
		write_all(2, "\n", 1);
	}
	_exit(1);
}

static void expect_msg(uint32_t want)
{
	uint32_t hdr[2];
	if (read_all(sync_fd, hdr, sizeof(hdr)) < 0)
		bail("waiting for the launcher (message %u)", want);
	if (hdr[0] != want || hdr[1] != 0) {
		errno = 0;
		bail("protocol error: expected message %u, got %u", want, hdr[0]);
	}
}

static void send_pid(uint32_t type, pid_t pid)
{
	int32_t p = pid;
	if (send_msg(type, &p, sizeof(p)) < 0)
		bail("sending pid to the launcher");
}

/* The kernel rules this stage exists for hold only in a single-threaded process: check, do not assume. */
static void require_single_thread(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		bail("opendir /proc/self/task");
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	if (n != 1) {
		errno = 0;
		bail("%d threads before the runtime started; namespaces need exactly one", n);
	}
}

static const char *ns_name(uint32_t flag)
{
	switch (flag) {
	case CLONE_NEWUSER: return "user";
	case CLONE_NEWNS: return "mount";
	case CLONE_NEWPID: return "pid";
	case CLONE_NEWNET: return "network";
	case CLONE_NEWIPC: return "ipc";
	case CLONE_NEWUTS: return "uts";
	case CLONE_NEWCGROUP: return "cgroup";
	case CLONE_NEWTIME: return "time";
	default: return "?";
	}
}

__attribute__((constructor(101))) static void nsenter(void)
{
	const char *env = getenv("_BERTH_BOOTSTRAP");
	if (env == NULL)
		return;

	int boot_fd = atoi(env);
	require_single_thread();

	struct boot_header h;
	if (read_all(boot_fd, &h, sizeof(h)) < 0)
		bail("reading bootstrap header");
	if (h.magic != BOOT_MAGIC || h.njoin > MAX_JOIN || h.timens_len > 4096) {
		errno = 0;
		bail("malformed bootstrap message");
	}
	sync_fd = (int)h.sync_fd;

	struct boot_join join[MAX_JOIN];
	if (h.njoin && read_all(boot_fd, join, h.njoin * sizeof(join[0])) < 0)
		bail("reading namespace list");
	char timens[4097];
	if (h.timens_len && read_all(boot_fd, timens, h.timens_len) < 0)
		bail("reading time offsets");
	timens[h.timens_len] = '\0';
	close(boot_fd);

	/* Join by fd, the user namespace first: it grants the capabilities the other joins need. */
	for (uint32_t pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < h.njoin; i++) {
			int is_user = join[i].nstype == CLONE_NEWUSER;
			if (is_user != (pass == 0))
				continue;
			if (setns((int)join[i].fd, (int)join[i].nstype) < 0)
				bail("joining %s namespace", ns_name(join[i].nstype));
			close((int)join[i].fd);
		}
	}

	uint32_t flags = h.clone_flags;
	int userns = (flags & CLONE_NEWUSER) != 0;
	for (uint32_t i = 0; i < h.njoin; i++)
		userns |= join[i].nstype == CLONE_NEWUSER;
	/*
	 * Non-dumpable: a process of the container cannot open our /proc/<pid>/exe, fds or memory
	 * (CVE-2019-5736 and kin) without CAP_SYS_PTRACE. In a user namespace we stay dumpable: the
	 * launcher must write our uid_map, the namespace's root must reach our /proc files, and the
	 * mapped uid cannot write host files anyway. execve resets it for the container's process.
	 */
	if (!userns && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		bail("prctl(PR_SET_DUMPABLE)");

	if (flags & CLONE_NEWUSER) {
		if (unshare(CLONE_NEWUSER) < 0)
			bail("creating user namespace");
		/* Only a process outside the namespace may write its maps: ask the launcher. */
		send_pid(SYNC_USERMAP_REQUEST, getpid());
		expect_msg(SYNC_USERMAP_DONE);
		if (setresgid(0, 0, 0) < 0)
			bail("setresgid(0) in the new user namespace");
		if (setresuid(0, 0, 0) < 0)
			bail("setresuid(0) in the new user namespace");
	}

	uint32_t rest = flags & ~(uint32_t)(CLONE_NEWUSER | CLONE_NEWCGROUP);
	if (rest && unshare((int)rest) < 0)
		bail("creating namespaces (flags 0x%x)", rest);

	if (flags & CLONE_NEWTIME && h.timens_len) {
		int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write_all(fd, timens, h.timens_len) < 0)
			bail("writing /proc/self/timens_offsets");
		close(fd);
	}

	/* Cgroups first, then the cgroup namespace: it is rooted where the caller is at unshare time. */
	send_pid(SYNC_CGROUP_REQUEST, getpid());
	expect_msg(SYNC_CGROUP_DONE);
	if (flags & CLONE_NEWCGROUP && unshare(CLONE_NEWCGROUP) < 0)
		bail("creating cgroup namespace");

	/* A raw clone, as fork(2) cannot take CLONE_PARENT. Safe here: single-threaded, no locks held. */
	pid_t child = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
	if (child < 0)
		bail("clone into the new pid namespace");
	if (child > 0) {
		send_pid(SYNC_CHILD_PID, child);
		_exit(0);
	}

	/* The container's init: its own session, root in its user namespace, no supplementary groups yet. */
	if (setsid() < 0)
		bail("setsid");
	if (flags & CLONE_NEWUSER && setgroups(0, NULL) < 0 && errno != EPERM)
		bail("setgroups");
	unsetenv("_BERTH_BOOTSTRAP");
}
