/*
 * nsenter: the namespace stage of `berth init` (DESIGN.md, "The runtime's process model").
 *
 * A constructor linked into the NativeAOT binary. It runs before the .NET runtime starts, while
 * the process is still single-threaded: setns() into a user or mount namespace and
 * unshare(CLONE_NEWUSER) refuse multi-threaded callers, and a pid or time namespace only applies
 * to children, so the fork has to happen here, in plain C.
 *
 * It does nothing unless _BERTH_BOOTSTRAP names the bootstrap pipe. Then:
 *   1. reads the bootstrap message (clone flags, namespace fds to join, time offsets, the
 *      cgroups to place itself in);
 *   2. once the launcher says the cgroups exist, places itself in them (see place_self);
 *   3. joins namespaces by fd, the user namespace first;
 *   4. unshares the new ones, the user namespace first (the launcher writes uid/gid maps);
 *   5. asks the launcher for what needs its namespaces (network devices, the cgroups it
 *      could not place itself in);
 *   6. writes time offsets (before any process enters the new time namespace);
 *   7. forks with CLONE_PARENT: the child enters the pid and time namespaces and is a child
 *      of the launcher itself (so `run` and `exec` can wait for it); the parent reports its
 *      pid and exits. The child unshares the cgroup namespace, so that namespace is rooted
 *      at the container's cgroup in every hierarchy.
 * The child then runs the launcher's plan (native/init.c) and execs the container's process:
 * the .NET runtime never starts inside a container.
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

#include "fdio.h"
#include "init.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* clone3's arguments (linux/sched.h), spelled out: older headers lack the cgroup field. */
struct clone3_args {
	uint64_t flags;
	uint64_t pidfd;
	uint64_t child_tid;
	uint64_t parent_tid;
	uint64_t exit_signal;
	uint64_t stack;
	uint64_t stack_size;
	uint64_t tls;
	uint64_t set_tid;
	uint64_t set_tid_size;
	uint64_t cgroup;
};

enum sync_type {
	SYNC_USERMAP_REQUEST = 1,
	SYNC_USERMAP_DONE = 2,
	SYNC_CGROUP_REQUEST = 3,
	SYNC_CGROUP_DONE = 4,
	SYNC_CHILD_PID = 5,
	SYNC_ERROR = 6,
	SYNC_PLACE_REQUEST = 11,
	SYNC_PLACE_GO = 12,
};

/* How the stage joins one cgroup (the launcher decides which, the stage only does it). */
enum place_kind {
	PLACE_WRITE_SELF = 1,   /* write "0" to the file named: v1 `tasks`, or v2 `cgroup.procs` */
	PLACE_CLONE_INTO = 2,   /* a v2 directory: the child is born in it (clone3 CLONE_INTO_CGROUP) */
};

#define BOOT_MAGIC 0x48545242u /* "BRTH" */
#define MAX_JOIN 16
#define MAX_PLACE 32
#define MAX_PLACE_BYTES 65536

struct boot_header {
	uint32_t magic;
	uint32_t sync_fd;
	uint32_t clone_flags;
	uint32_t njoin;
	uint32_t timens_len;
	uint32_t nplace;
	uint32_t place_len; /* bytes of {u32 kind, u32 length, path} records that follow the time offsets */
};

struct boot_join {
	uint32_t nstype;
	uint32_t fd;
};

static int sync_fd = -1;

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

/*
 * Joins the container's cgroups itself, before it enters any namespace (so host paths still
 * mean what the launcher meant, and it is still host root). Why not let the launcher write
 * our pid: moving another process takes the kernel's global cgroup_threadgroup_rwsem for
 * writing, which waits for an RCU grace period — 5 to 20 ms on this VM, the largest single
 * cost of a container start. A single-threaded process moving itself through v1 `tasks`
 * skips that lock, and a child born into a v2 cgroup (CLONE_INTO_CGROUP) never takes it.
 * Returns the directory fd to clone into, or -1.
 */
static int place_self(const char *records, uint32_t len, uint32_t n)
{
	int into = -1;
	uint32_t off = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t kind, plen;
		if (off + 8 > len)
			goto malformed;
		memcpy(&kind, records + off, 4);
		memcpy(&plen, records + off + 4, 4);
		off += 8;
		if (plen == 0 || plen > len - off || memchr(records + off, '\0', plen))
			goto malformed;
		char path[4097];
		if (plen >= sizeof(path))
			goto malformed;
		memcpy(path, records + off, plen);
		path[plen] = '\0';
		off += plen;
		if (kind == PLACE_WRITE_SELF) {
			int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
			if (fd < 0 || write_all(fd, "0", 1) < 0)
				bail("cgroup: placing itself through %s", path);
			close(fd);
		} else if (kind == PLACE_CLONE_INTO && into < 0) {
			into = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (into < 0)
				bail("cgroup: opening %s", path);
		} else {
			goto malformed;
		}
	}
	if (off != len)
		goto malformed;
	return into;
malformed:
	errno = 0;
	bail("malformed cgroup placement in the bootstrap message");
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

/*
 * An idmapped mount needs a user namespace holding its mappings (mount_setattr's userns_fd).
 * Only a single-threaded process can unshare one, so the launcher starts this binary with
 * _BERTH_USERNS_HOLDER naming a socket: the process unshares, says so with one byte, and waits
 * for the launcher — which writes its maps and opens /proc/<pid>/ns/user — to close the socket.
 */
static void __attribute__((noreturn)) hold_user_namespace(const char *env)
{
	int fd = atoi(env);
	char c = unshare(CLONE_NEWUSER) == 0 ? '1' : '0';
	if (write(fd, &c, 1) != 1)
		_exit(1);
	while (read(fd, &c, 1) > 0)
		;
	_exit(0);
}

__attribute__((constructor(101))) static void nsenter(void)
{
	const char *holder = getenv("_BERTH_USERNS_HOLDER");
	if (holder != NULL)
		hold_user_namespace(holder);
	const char *env = getenv("_BERTH_BOOTSTRAP");
	if (env == NULL)
		return;

	int boot_fd = atoi(env);
	require_single_thread();

	struct boot_header h;
	if (read_all(boot_fd, &h, sizeof(h)) < 0)
		bail("reading bootstrap header");
	if (h.magic != BOOT_MAGIC || h.njoin > MAX_JOIN || h.timens_len > 4096 || h.nplace > MAX_PLACE ||
	    h.place_len > MAX_PLACE_BYTES) {
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
	static char place[MAX_PLACE_BYTES];
	if (h.place_len && read_all(boot_fd, place, h.place_len) < 0)
		bail("reading cgroup placement");
	close(boot_fd);

	/* The launcher makes the cgroups (and writes their limits) while we start: wait for them. */
	int clone_into = -1;
	if (h.nplace) {
		send_pid(SYNC_PLACE_REQUEST, getpid());
		expect_msg(SYNC_PLACE_GO);
		clone_into = place_self(place, h.place_len, h.nplace);
	}

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

	/* What needs our namespaces (network devices), and the cgroups we could not join ourselves. */
	send_pid(SYNC_CGROUP_REQUEST, getpid());
	expect_msg(SYNC_CGROUP_DONE);

	/*
	 * A raw clone, as fork(2) cannot take CLONE_PARENT. Safe here: single-threaded, no locks
	 * held. clone3 when the child is to be born in a v2 cgroup.
	 */
	pid_t child;
	if (clone_into >= 0) {
		struct clone3_args args;
		memset(&args, 0, sizeof(args));
		/* exit_signal stays 0: with CLONE_PARENT the child takes ours (SIGCHLD), and clone3 refuses another. */
		args.flags = CLONE_PARENT | CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)clone_into;
		child = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	} else {
		child = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
	}
	if (child < 0)
		bail("clone into the new pid namespace");
	if (child > 0) {
		send_pid(SYNC_CHILD_PID, child);
		_exit(0);
	}
	if (clone_into >= 0)
		close(clone_into);

	/* Now in every cgroup of the container: the cgroup namespace is rooted where we are at unshare time. */
	if (flags & CLONE_NEWCGROUP && unshare(CLONE_NEWCGROUP) < 0)
		bail("creating cgroup namespace");

	/* The container's init: its own session, root in its user namespace, no supplementary groups yet. */
	if (setsid() < 0)
		bail("setsid");
	if (flags & CLONE_NEWUSER && setgroups(0, NULL) < 0 && errno != EPERM)
		bail("setgroups");
	unsetenv("_BERTH_BOOTSTRAP");
	/* The rest is the launcher's plan (native/init.c): the .NET runtime never starts in a container. */
	berth_run_plan(sync_fd);
}
