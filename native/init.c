/*
 * init: the plan executor (DESIGN.md, "The runtime's process model").
 *
 * The launcher (C#, src/Berth.Runtime/Init/PlanBuilder.cs) decides everything a container's
 * init does — which mounts in which order with which flags, the devices, sysctls, rlimits,
 * ids, capabilities, the seccomp program — and writes it as a plan: a list of operations.
 * This file runs that list in the container's init, right after native/nsenter.c has put the
 * process in its namespaces, and then execs the container's process. It never starts the .NET
 * runtime, and it decides nothing: every branch here is a kernel fact (a missing path, the
 * flags a mount already has), not a policy.
 *
 * Wire format (little-endian; src/Berth.Runtime/Protocol/InitPlan.cs writes it):
 *   plan := u32 magic "BPLN", u32 op count, op*
 *   op   := u32 code, u32 arg count, arg*      arg 0 of every op is its step name (for errors)
 *   arg  := u32 length, bytes                  integers: 8 bytes (i64); strings: NUL-terminated;
 *                                              lists: NUL-terminated strings back to back
 * Descriptors live in registers (reg[]): OP_REG_FD names an inherited one, opening ops fill one.
 *
 * A failure before the barrier goes to the launcher over the sync socket as SYNC_INIT_FAILED
 * {u32 op index, i32 errno, step\0detail\0}; after it (create's barrier is exec.fifo), the same
 * record goes down the fifo, which `start` reads until init's execve closes it (O_CLOEXEC): so
 * `start` knows whether the process really started.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>

#include "fdio.h"
#include "init.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#define PROC_SUPER_MAGIC 0x9fa0
#define ST_RELATIME_FLAG 4096
#define NREG 64
#define MAX_LINKS 40

struct mount_attr_arg {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

struct arg {
	const char *p;
	uint32_t len;
};

struct op {
	uint32_t code;
	uint32_t nargs;
	struct arg a[INIT_MAX_ARGS];
};

static int sync_fd = -1;
static int report_fd = -1; /* after the barrier: exec.fifo, written only on failure */
static int reg[NREG];
static uint32_t current_index;
static const char *current_step = "init";
static char *exec_path;
static char *home_env;
static char **exec_args, **exec_env;

/* The failure record: {u32 op index, i32 errno, step\0detail\0}, framed for the sync socket. */
static void __attribute__((noreturn, format(printf, 2, 3))) fail(int err, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (n < 0)
		detail[0] = '\0';
	size_t slen = strlen(current_step), dlen = strlen(detail);
	if (slen > 4096)
		slen = 4096;
	uint32_t payload = (uint32_t)(8 + slen + 1 + dlen + 1);
	char *buf = malloc(8 + payload);
	if (buf) {
		uint32_t hdr[2] = { SYNC_INIT_FAILED, payload };
		int32_t e = err;
		memcpy(buf, hdr, 8);
		memcpy(buf + 8, &current_index, 4);
		memcpy(buf + 12, &e, 4);
		memcpy(buf + 16, current_step, slen);
		buf[16 + slen] = '\0';
		memcpy(buf + 17 + slen, detail, dlen + 1);
		int fd = report_fd >= 0 ? report_fd : sync_fd;
		if (fd < 0 || write_all(fd, buf, 8 + payload) < 0) {
			write_all(2, "berth: init: ", 13);
			write_all(2, current_step, slen);
			write_all(2, ": ", 2);
			write_all(2, detail, dlen);
			write_all(2, "\n", 1);
		}
	}
	_exit(report_fd >= 0 ? 127 : 1);
}

/* ---- arguments ---- */

static int64_t num(const struct op *o, uint32_t i)
{
	int64_t v;
	if (i >= o->nargs || o->a[i].len != 8)
		fail(0, "malformed plan: op %u argument %u is not a number", o->code, i);
	memcpy(&v, o->a[i].p, 8);
	return v;
}

static const char *str(const struct op *o, uint32_t i)
{
	if (i >= o->nargs || o->a[i].len == 0 || o->a[i].p[o->a[i].len - 1] != '\0')
		fail(0, "malformed plan: op %u argument %u is not a string", o->code, i);
	return o->a[i].p;
}

/* An empty string argument means "none". */
static const char *opt_str(const struct op *o, uint32_t i)
{
	const char *s = str(o, i);
	return s[0] ? s : NULL;
}

/* A list argument as a NULL-terminated vector (malloc'd; the plan outlives it). */
static char **list(const struct op *o, uint32_t i, size_t *count)
{
	if (i >= o->nargs)
		fail(0, "malformed plan: op %u has no argument %u", o->code, i);
	const struct arg *a = &o->a[i];
	if (a->len > 0 && a->p[a->len - 1] != '\0')
		fail(0, "malformed plan: op %u argument %u is not a list", o->code, i);
	size_t n = 0;
	for (uint32_t k = 0; k < a->len; k++)
		n += a->p[k] == '\0';
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		fail(ENOMEM, "allocating");
	size_t j = 0;
	for (uint32_t k = 0; k < a->len; k += (uint32_t)strlen(a->p + k) + 1)
		v[j++] = (char *)(a->p + k);
	if (count)
		*count = n;
	return v;
}

static int regfd(const struct op *o, uint32_t i)
{
	int64_t r = num(o, i);
	if (r < 0)
		return -1;
	if (r >= NREG)
		fail(0, "malformed plan: register %lld", (long long)r);
	return reg[r];
}

static void set_reg(const struct op *o, uint32_t i, int fd)
{
	int64_t r = num(o, i);
	if (r < 0 || r >= NREG)
		fail(0, "malformed plan: register %lld", (long long)r);
	if (reg[r] >= 0 && reg[r] != fd)
		close(reg[r]);
	reg[r] = fd;
}

static const char *fd_path(int fd, char buf[32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
	return buf;
}

/* ---- paths inside a root (openat2 RESOLVE_IN_ROOT: image symlinks never reach the host) ---- */

static int openat2_fd(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how;
	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = resolve;
	for (int tries = 0; tries < 32; tries++) {
		long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			return (int)fd;
	}
	return -1;
}

/* "/a/b/" → "a/b"; "/" → ".". */
static const char *relative(const char *path, char *buf, size_t size)
{
	while (*path == '/')
		path++;
	size_t n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	if (n == 0)
		return ".";
	if (n >= size) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(buf, path, n);
	buf[n] = '\0';
	return buf;
}

static int in_root_open(int root, const char *path, int flags)
{
	char rel[PATH_MAX];
	const char *r = relative(path, rel, sizeof(rel));
	if (!r)
		return -1;
	return openat2_fd(root, r, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/*
 * mkdir -p inside the root, as an O_PATH directory. Each level is made with mkdirat on its
 * parent's descriptor and a single name (no path walk to race); a dangling symlink on the way
 * is followed inside the root and its target made there.
 */
static int mkdir_all(int root, const char *path, mode_t mode)
{
	int fd = in_root_open(root, path, O_PATH | O_DIRECTORY);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	char todo[PATH_MAX], walked[PATH_MAX];
	const char *rel = relative(path, todo, sizeof(todo));
	if (!rel)
		return -1;
	if (rel != todo)
		snprintf(todo, sizeof(todo), "%s", rel);
	int cur = openat2_fd(root, ".", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
	if (cur < 0)
		return -1;
	walked[0] = '\0';
	int links = 0;
	char *rest = todo;
	while (*rest) {
		char *slash = strchr(rest, '/');
		char part[NAME_MAX + 1];
		size_t plen = slash ? (size_t)(slash - rest) : strlen(rest);
		char *after = slash ? slash + 1 : rest + plen;
		if (plen == 0) {
			rest = after;
			continue;
		}
		if (plen > NAME_MAX) {
			close(cur);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(part, rest, plen);
		part[plen] = '\0';
		char next[PATH_MAX];
		if ((size_t)snprintf(next, sizeof(next), "%s/%s", walked, part) >= sizeof(next)) {
			close(cur);
			errno = ENAMETOOLONG;
			return -1;
		}
		int nfd = in_root_open(root, next, O_PATH | O_DIRECTORY);
		if (nfd < 0 && errno == ENOENT) {
			if (mkdirat(cur, part, mode) < 0) {
				if (errno != EEXIST) {
					close(cur);
					return -1;
				}
				char target[PATH_MAX];
				ssize_t tl = readlinkat(cur, part, target, sizeof(target) - 1);
				if (tl >= 0) {
					/* Restart from the link's target, resolved as the kernel would inside the root. */
					target[tl] = '\0';
					if (++links > MAX_LINKS) {
						close(cur);
						errno = ELOOP;
						return -1;
					}
					char again[PATH_MAX];
					int w;
					if (target[0] == '/')
						w = snprintf(again, sizeof(again), "%s/%s", target, after);
					else
						w = snprintf(again, sizeof(again), "%s/%s/%s", walked, target, after);
					if (w < 0 || (size_t)w >= sizeof(again)) {
						close(cur);
						errno = ENAMETOOLONG;
						return -1;
					}
					snprintf(todo, sizeof(todo), "%s", again);
					rest = todo;
					close(cur);
					cur = openat2_fd(root, ".", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
					if (cur < 0)
						return -1;
					walked[0] = '\0';
					continue;
				}
			}
			nfd = in_root_open(root, next, O_PATH | O_DIRECTORY);
		}
		if (nfd < 0) {
			int e = errno;
			close(cur);
			errno = e;
			return -1;
		}
		close(cur);
		cur = nfd;
		snprintf(walked, sizeof(walked), "%s", next);
		rest = after;
	}
	return cur;
}

static void split(const char *path, char *dir, size_t dsize, const char **name)
{
	char rel[PATH_MAX];
	const char *r = relative(path, rel, sizeof(rel));
	if (!r)
		fail(ENAMETOOLONG, "%s", path);
	const char *slash = strrchr(path, '/');
	*name = slash ? slash + 1 : path;
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n >= dsize)
		fail(ENAMETOOLONG, "%s", path);
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (n == 0)
		snprintf(dir, dsize, "/");
}

/*
 * An empty regular file at path (a bind-mount target for a file source), as O_PATH. A dangling
 * symlink at the last component is followed inside the root and its target made there, as
 * mkdir_all does for directories.
 */
static int mkfile(int root, const char *path)
{
	char want[PATH_MAX];
	snprintf(want, sizeof(want), "%s", path);
	for (int links = 0; links <= MAX_LINKS; links++) {
		int fd = in_root_open(root, want, O_PATH);
		if (fd >= 0 || errno != ENOENT)
			return fd;
		char clean[PATH_MAX], dir[PATH_MAX];
		const char *rel = relative(want, clean, sizeof(clean));
		if (!rel)
			return -1;
		const char *name;
		split(rel, dir, sizeof(dir), &name);
		int parent = mkdir_all(root, dir, 0755);
		if (parent < 0)
			return -1;
		int f = openat(parent, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (f < 0 && errno == ELOOP) {
			char target[PATH_MAX];
			ssize_t tl = readlinkat(parent, name, target, sizeof(target) - 1);
			close(parent);
			if (tl < 0)
				return -1;
			target[tl] = '\0';
			char next[PATH_MAX];
			int w = target[0] == '/' ? snprintf(next, sizeof(next), "%s", target)
						 : snprintf(next, sizeof(next), "/%s/%s", dir, target);
			if (w < 0 || (size_t)w >= sizeof(next)) {
				errno = ENAMETOOLONG;
				return -1;
			}
			snprintf(want, sizeof(want), "%s", next);
			continue;
		}
		if (f < 0 && errno != EEXIST && errno != EISDIR) {
			int e = errno;
			close(parent);
			errno = e;
			return -1;
		}
		if (f >= 0)
			close(f);
		fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(parent);
		errno = e;
		return fd;
	}
	errno = ELOOP;
	return -1;
}

/* ---- mounts ---- */

static void do_mount(const char *src, const char *target, const char *fstype, unsigned long flags, const char *data,
		     const char *what)
{
	if (mount(src, target, fstype, flags, data) == 0)
		return;
	if (what == current_step)
		fail(errno, "mount");
	fail(errno, "mount %s", what);
}

/*
 * MS_REMOUNT|MS_BIND with flags. In a user namespace the kernel locks the nosuid/nodev/noexec/
 * ro and atime flags a mount already had: dropping them is EPERM, so they are carried over.
 */
static void remount(int fd, const char *target, unsigned long flags, int carry_locked, const char *what)
{
	if (carry_locked) {
		struct statvfs sv;
		if (fstatvfs(fd, &sv) < 0)
			fail(errno, "fstatvfs %s", what);
		unsigned long st = sv.f_flag;
		unsigned long locked = st & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
		if ((flags & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)) == 0) {
			locked |= st & (MS_NOATIME | MS_NODIRATIME);
			if (st & ST_RELATIME_FLAG)
				locked |= MS_RELATIME;
		}
		flags |= locked;
	}
	char buf[32];
	do_mount(NULL, target ? target : fd_path(fd, buf), NULL, MS_BIND | MS_REMOUNT | flags, NULL, what);
}

static int checked_proc(void)
{
	int proc = open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (proc < 0)
		fail(errno, "opening /proc");
	struct statfs sf;
	if (fstatfs(proc, &sf) < 0)
		fail(errno, "statfs /proc");
	if (sf.f_type != PROC_SUPER_MAGIC)
		fail(0, "/proc is not procfs: refusing to write through it");
	return proc;
}

/*
 * A procfs write that cannot be redirected (CVE-2025-52881 class): through a /proc checked to
 * be procfs, by a path without symlinks that must not cross into another mount. "self/" is
 * this process, spelled by pid: /proc/self is itself a symlink.
 */
static void proc_write(const char *relpath, const char *value, const char *hint)
{
	char path[PATH_MAX];
	if (strncmp(relpath, "self/", 5) == 0)
		snprintf(path, sizeof(path), "%d/%s", (int)getpid(), relpath + 5);
	else
		snprintf(path, sizeof(path), "%s", relpath);
	int proc = checked_proc();
	int fd = openat2_fd(proc, path, O_WRONLY | O_TRUNC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
	if (fd < 0 && errno == EXDEV)
		fail(0, "/proc/%s has something mounted over it: refusing to write through it", relpath);
	if (fd < 0)
		fail(errno, "opening /proc/%s", relpath);
	if (write_all(fd, value, strlen(value)) < 0) {
		if ((errno == EACCES || errno == EPERM) && hint[0])
			fail(errno, "writing /proc/%s: %s", relpath, hint);
		fail(errno, "writing /proc/%s", relpath);
	}
	close(fd);
	close(proc);
}

/*
 * tmpcopyup: what was in the directory before a tmpfs covered it, copied into the tmpfs —
 * files, directories, links, devices and fifos with their owners, modes, times and xattrs.
 * Both sides are descriptors (the covered directory was opened before the mount), every name
 * is opened relative to its parent without following links, and the depth is bounded.
 */
static void copy_xattrs(int from, int to, const char *name)
{
	char names[4096], value[4096];
	ssize_t n = flistxattr(from, names, sizeof(names));
	for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(names + off) + 1) {
		ssize_t v = fgetxattr(from, names + off, value, sizeof(value));
		if (v >= 0 && fsetxattr(to, names + off, value, (size_t)v, 0) < 0 && errno != ENOTSUP && errno != EPERM)
			fail(errno, "tmpcopyup: setting %s on %s", names + off, name);
	}
}

static void copy_meta(int fd, const struct stat *st, const char *name)
{
	if (fchown(fd, st->st_uid, st->st_gid) < 0 && errno != EPERM && errno != EINVAL)
		fail(errno, "tmpcopyup: chown %s", name);
	if (fchmod(fd, st->st_mode & 07777) < 0)
		fail(errno, "tmpcopyup: chmod %s", name);
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	futimens(fd, times);
}

static void copy_tree(int from, int to, int depth)
{
	if (depth > 256)
		fail(ELOOP, "tmpcopyup: directories nested too deep");
	int dfd = dup(from);
	if (dfd < 0)
		fail(errno, "tmpcopyup: dup");
	DIR *d = fdopendir(dfd);
	if (!d)
		fail(errno, "tmpcopyup: reading a directory");
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(from, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
			fail(errno, "tmpcopyup: stat %s", n);
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(to, n, 0700) < 0 && errno != EEXIST)
				fail(errno, "tmpcopyup: mkdir %s", n);
			int sub_from = openat(from, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int sub_to = openat(to, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub_from < 0 || sub_to < 0)
				fail(errno, "tmpcopyup: opening %s", n);
			copy_tree(sub_from, sub_to, depth + 1);
			copy_xattrs(sub_from, sub_to, n);
			copy_meta(sub_to, &st, n);
			close(sub_from);
			close(sub_to);
		} else if (S_ISREG(st.st_mode)) {
			int in = openat(from, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			int out = openat(to, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (in < 0 || out < 0)
				fail(errno, "tmpcopyup: opening %s", n);
			for (;;) {
				ssize_t c = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
				if (c < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
					char buf[65536];
					ssize_t r;
					while ((r = read(in, buf, sizeof(buf))) > 0)
						if (write_all(out, buf, (size_t)r) < 0)
							fail(errno, "tmpcopyup: writing %s", n);
					if (r < 0)
						fail(errno, "tmpcopyup: reading %s", n);
					break;
				}
				if (c < 0)
					fail(errno, "tmpcopyup: copying %s", n);
				if (c == 0)
					break;
			}
			copy_xattrs(in, out, n);
			copy_meta(out, &st, n);
			close(in);
			close(out);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t tl = readlinkat(from, n, target, sizeof(target) - 1);
			if (tl < 0)
				fail(errno, "tmpcopyup: readlink %s", n);
			target[tl] = '\0';
			if (symlinkat(target, to, n) < 0)
				fail(errno, "tmpcopyup: symlink %s", n);
			fchownat(to, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
			struct timespec times[2] = { st.st_atim, st.st_mtim };
			utimensat(to, n, times, AT_SYMLINK_NOFOLLOW);
		} else {
			if (mknodat(to, n, st.st_mode, st.st_rdev) < 0)
				fail(errno, "tmpcopyup: mknod %s", n);
			int node = openat(to, n, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			char b[32];
			if (node >= 0) {
				fchownat(to, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
				chmod(fd_path(node, b), st.st_mode & 07777);
				close(node);
			}
		}
	}
	closedir(d);
}

/*
 * runc's rule for mounts on /proc, on the target as it resolved (the launcher checked the
 * destination's text; an image's symlink could still route a mount into /proc): a target on a
 * procfs must be its root, for a proc mount or a bind of a procfs root, or one of the files the
 * plan allows (lxcfs's). Arguments: target register, bind source register or -1, is a proc
 * mount, rootfs (host path), allowed paths.
 */
static void check_proc_target(const struct op *o)
{
	int target = regfd(o, 1), source = regfd(o, 2);
	struct statfs sf;
	if (fstatfs(target, &sf) < 0)
		fail(errno, "statfs of the target");
	if (sf.f_type != PROC_SUPER_MAGIC)
		return;
	struct stat st;
	if (fstat(target, &st) < 0)
		fail(errno, "stat of the target");
	if (st.st_ino == 1) {
		if (num(o, 3))
			return;
		struct statfs ssf;
		struct stat sst;
		if (source >= 0 && fstatfs(source, &ssf) == 0 && ssf.f_type == PROC_SUPER_MAGIC && fstat(source, &sst) == 0 &&
		    sst.st_ino == 1)
			return;
		fail(0, "it resolves to /proc, where only a proc file system may be mounted");
	}
	char link[32], resolved[PATH_MAX];
	ssize_t n = readlink(fd_path(target, link), resolved, sizeof(resolved) - 1);
	if (n < 0)
		fail(errno, "resolving the target");
	resolved[n] = '\0';
	const char *rootfs = str(o, 4), *inside = resolved;
	size_t rl = strlen(rootfs);
	while (rl > 1 && rootfs[rl - 1] == '/')
		rl--;
	if (strncmp(resolved, rootfs, rl) == 0 && resolved[rl] == '/')
		inside = resolved + rl;
	char **allowed = list(o, 5, NULL);
	for (char **a = allowed; *a; a++)
		if (strcmp(*a, inside) == 0) {
			free(allowed);
			return;
		}
	fail(0, "it resolves to %s inside /proc, where only lxcfs's files may be mounted over", inside);
}

/* ---- the barrier and the launcher ---- */

static void send_msg(uint32_t type)
{
	uint32_t hdr[2] = { type, 0 };
	if (write_all(sync_fd, hdr, sizeof(hdr)) < 0)
		fail(errno, "writing to the launcher");
}

static void expect_msg(uint32_t want)
{
	uint32_t hdr[2];
	if (read_all(sync_fd, hdr, sizeof(hdr)) < 0)
		fail(errno, "waiting for the launcher");
	if (hdr[0] != want || hdr[1] != 0)
		fail(0, "protocol error: expected message %u, got %u", want, hdr[0]);
}

/*
 * Blocks opening exec.fifo for writing until `start` opens it for reading, and tells it so
 * with one byte. The descriptor stays open, close-on-exec: EOF at `start` means execve
 * succeeded; a failure record before it means it did not.
 */
static void wait_fifo(int fifo_path_fd, int proc)
{
	/*
	 * Reopened through the procfs init saw before pivot_root (a descriptor kept for this):
	 * the container's root need not have a /proc.
	 */
	char rel[64];
	snprintf(rel, sizeof(rel), "%sthread-self/fd/%d", proc >= 0 ? "" : "/proc/", fifo_path_fd);
	int fd = proc >= 0 ? openat(proc, rel, O_WRONLY | O_CLOEXEC) : open(rel, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fail(errno, "opening exec.fifo");
	if (write_all(fd, "0", 1) < 0 && errno != EPIPE)
		fail(errno, "writing exec.fifo");
	report_fd = fd;
}

/* ---- hooks ---- */

/* One hook, in this process's namespaces: the state on stdin, its output kept for the message. */
static void run_hook(const char *path, char **args, char **env, int64_t timeout_s, const char *state, size_t state_len)
{
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		fail(errno, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		fail(errno, "fork");
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		execve(path, args, env);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	signal(SIGPIPE, SIG_IGN);
	write_all(in[1], state, state_len);
	close(in[1]);
	char output[1024];
	size_t got = 0;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p[2] = { { .fd = out[0], .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
	int timed_out = 0, out_open = 1;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int wait_ms = -1;
		if (timeout_s > 0) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			long long elapsed = (now.tv_sec - start.tv_sec) * 1000LL + (now.tv_nsec - start.tv_nsec) / 1000000;
			long long left = timeout_s * 1000LL - elapsed;
			if (left <= 0) {
				timed_out = 1;
				break;
			}
			wait_ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		p[0].fd = out_open ? out[0] : -1;
		int n = poll(p, 2, wait_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (out_open && (p[0].revents & (POLLIN | POLLHUP))) {
			char chunk[512];
			ssize_t r = read(out[0], chunk, sizeof(chunk));
			if (r <= 0)
				out_open = 0;
			else if (got < sizeof(output) - 1) {
				size_t take = (size_t)r < sizeof(output) - 1 - got ? (size_t)r : sizeof(output) - 1 - got;
				memcpy(output + got, chunk, take);
				got += take;
			}
		}
		if (pidfd < 0 || (p[1].revents & POLLIN))
			break;
	}
	if (timed_out)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	close(out[0]);
	if (pidfd >= 0)
		close(pidfd);
	signal(SIGPIPE, SIG_DFL);
	output[got] = '\0';
	for (size_t i = 0; i < got; i++)
		if (output[i] == '\n' || output[i] == '\r')
			output[i] = ' ';
	const char *sep = got ? "; output: " : "";
	if (timed_out)
		fail(0, "%s: timed out after %lld s%s%s", path, (long long)timeout_s, sep, output);
	if (WIFSIGNALED(status))
		fail(0, "%s: killed by signal %d%s%s", path, WTERMSIG(status), sep, output);
	if (WEXITSTATUS(status) != 0)
		fail(0, "%s: exit status %d%s%s", path, WEXITSTATUS(status), sep, output);
}

/* sendmsg of data with one descriptor in SCM_RIGHTS: a pty master, a seccomp listener. */
static int send_fd(int sock, const void *data, size_t len, int fd)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	char control[CMSG_SPACE(sizeof(int))];
	memset(control, 0, sizeof(control));
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	for (;;) {
		if (sendmsg(sock, &msg, MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* ---- the console ---- */

/*
 * A pty from the devpts behind /dev/ptmx (the container's own after pivot_root); the slave is
 * opened from the master (TIOCGPTPEER), never by a path an image could have replaced. It
 * becomes stdio and the controlling terminal, and for the first process /dev/console —
 * refused when the image made that a symlink (CVE-2025-52565).
 */
static void console(int sock, int64_t rows, int64_t cols, int bind_console)
{
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		fail(errno, "opening /dev/ptmx");
	int unlock = 0, n;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		fail(errno, "ioctl(TIOCSPTLCK)");
	if (ioctl(master, TIOCGPTN, &n) < 0)
		fail(errno, "ioctl(TIOCGPTN)");
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		fail(errno, "ioctl(TIOCGPTPEER)");
	if (rows > 0 && cols > 0) {
		struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
		if (ioctl(master, TIOCSWINSZ, &ws) < 0)
			fail(errno, "ioctl(TIOCSWINSZ)");
	}
	if (bind_console) {
		int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		int target = openat2_fd(root, "dev/console", O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
		if (target < 0 && errno == ENOENT) {
			int made = mkfile(root, "/dev/console");
			if (made < 0)
				fail(errno, "creating /dev/console");
			close(made);
			target = openat2_fd(root, "dev/console", O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
		}
		if (target < 0 && errno == ELOOP)
			fail(0, "/dev/console is a symlink in the rootfs: refusing to mount the console over it");
		if (target < 0)
			fail(errno, "opening /dev/console");
		struct stat st;
		if (fstat(target, &st) < 0)
			fail(errno, "stat /dev/console");
		if (S_ISLNK(st.st_mode))
			fail(0, "/dev/console is a symlink in the rootfs: refusing to mount the console over it");
		if (S_ISDIR(st.st_mode))
			fail(0, "/dev/console is not a file or device: refusing to mount the console over it");
		char a[32], b[32];
		do_mount(fd_path(slave, a), fd_path(target, b), NULL, MS_BIND, NULL, "/dev/console");
		close(target);
		close(root);
	}
	char name[32];
	int len = snprintf(name, sizeof(name), "/dev/pts/%d", n);
	if (send_fd(sock, name, (size_t)len, master) < 0)
		fail(errno, "sending the terminal to the console socket");
	close(master);
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(slave, fd) < 0)
			fail(errno, "dup2 of the terminal");
	close(slave);
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		fail(errno, "ioctl(TIOCSCTTY)");
	close(sock);
}

/* ---- users ---- */

/* HOME from the container's own /etc/passwd (no NSS: it would load the image's modules). */
static void find_home(uint32_t uid)
{
	const char *home = "/";
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen("/etc/passwd", "re");
	char *found = NULL;
	while (f && getline(&line, &cap, f) > 0) {
		char *fields[7] = { 0 };
		int k = 0;
		char *save = line;
		for (char *p = line; k < 7; p++) {
			if (*p == ':' || *p == '\n' || *p == '\0') {
				char end = *p;
				*p = '\0';
				fields[k++] = save;
				save = p + 1;
				if (end != ':')
					break;
			}
		}
		if (k < 6)
			continue;
		char *endp;
		unsigned long u = strtoul(fields[2], &endp, 10);
		if (*fields[2] && *endp == '\0' && u == uid) {
			found = strdup(fields[5]);
			break;
		}
	}
	if (f)
		fclose(f);
	free(line);
	if (found && *found)
		home = found;
	size_t n = strlen(home) + 6;
	home_env = malloc(n);
	if (!home_env)
		fail(ENOMEM, "allocating");
	snprintf(home_env, n, "HOME=%s", home);
}

/* Whether id is inside one of /proc/self/<file>'s ranges. */
static int mapped(const char *file, uint32_t id)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/%s", file);
	FILE *f = fopen(path, "re");
	if (!f)
		fail(errno, "reading %s", path);
	unsigned long inside, outside, count;
	int ok = 0;
	while (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3)
		if (id >= inside && (uint64_t)id < (uint64_t)inside + count)
			ok = 1;
	fclose(f);
	return ok;
}

/* args[0] resolved as execvp would, with the container's PATH, before the barrier. */
static void find_exec(const char *name, const char *pathvar)
{
	struct stat st;
	if (strchr(name, '/')) {
		if (stat(name, &st) < 0)
			fail(errno, "exec: \"%s\"", name);
		if (S_ISDIR(st.st_mode))
			fail(0, "exec: \"%s\": is a directory", name);
		if (!S_ISREG(st.st_mode) || faccessat(AT_FDCWD, name, X_OK, AT_EACCESS) < 0)
			fail(EACCES, "exec: \"%s\"", name);
		exec_path = strdup(name);
		return;
	}
	const char *p = pathvar;
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
		char cand[PATH_MAX];
		int w = dlen == 0 ? snprintf(cand, sizeof(cand), "./%s", name)
				  : snprintf(cand, sizeof(cand), "%.*s/%s", (int)dlen, p, name);
		if (w > 0 && (size_t)w < sizeof(cand) && stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
		    faccessat(AT_FDCWD, cand, X_OK, AT_EACCESS) == 0) {
			exec_path = strdup(cand);
			return;
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	fail(0, "exec: \"%s\": executable file not found in $PATH", name);
}

/*
 * execve's E2BIG, found before the barrier: the strings with their pointers must fit in a
 * quarter of the stack limit the process will have, at least 128 KiB and at most 6 MiB
 * (fs/exec.c, bprm_stack_limits). (The launcher checked each string against MAX_ARG_STRLEN,
 * naming its field.) stack: the soft RLIMIT_STACK the plan sets, or 0 for the current one.
 */
static void check_exec_size(int64_t stack)
{
	if (stack <= 0) {
		struct rlimit rl;
		stack = getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (1ULL << 62)
				? (int64_t)rl.rlim_cur
				: INT64_MAX;
	}
	uint64_t limit = (uint64_t)stack / 4;
	if (limit > (6u << 20))
		limit = 6u << 20;
	if (limit < (128u << 10))
		limit = 128u << 10;
	uint64_t total = strlen(exec_path) + 1;
	size_t n = 0;
	for (char **a = exec_args; *a; a++, n++)
		total += strlen(*a) + 1;
	for (char **e = exec_env; *e; e++, n++)
		total += strlen(*e) + 1;
	total += (n + 1) * sizeof(char *);
	if (total > limit)
		fail(E2BIG, "process.args and process.env: %llu bytes with their pointers, more than the %llu execve takes with a %lld-byte RLIMIT_STACK",
		     (unsigned long long)total, (unsigned long long)limit, (long long)stack);
}

/* ---- the last steps ---- */

static void capset_sets(uint64_t eff, uint64_t perm, uint64_t inh)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = {
		{ .effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh },
		{ .effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32), .inheritable = (uint32_t)(inh >> 32) },
	};
	if (syscall(SYS_capset, &h, d) < 0)
		fail(errno, "capset");
}

/* Loads the filter; with a NOTIFY action, hands the listener to the agent with its state document. */
static void load_seccomp(const struct op *o)
{
	const struct arg *bpf = &o->a[1];
	if (bpf->len == 0 || bpf->len % sizeof(struct sock_filter) != 0 || bpf->len / sizeof(struct sock_filter) > 0xffff)
		fail(0, "malformed plan: seccomp program of %u bytes", bpf->len);
	struct sock_fprog prog = { .len = (unsigned short)(bpf->len / sizeof(struct sock_filter)),
				   .filter = (struct sock_filter *)(void *)bpf->p };
	unsigned int flags = (unsigned int)num(o, 2);
	/* The plan's bytes need not be aligned for sock_filter: copy them. */
	struct sock_filter *copy = malloc(bpf->len);
	if (!copy)
		fail(ENOMEM, "allocating");
	memcpy(copy, bpf->p, bpf->len);
	prog.filter = copy;
	long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (rc < 0)
		fail(errno, "seccomp(SET_MODE_FILTER)");
	if (!(flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
		return;
	int sock = regfd(o, 3);
	const struct arg *state = &o->a[4];
	int listener = (int)rc;
	int err = send_fd(sock, state->p, state->len, listener) < 0 ? errno : 0;
	close(listener);
	close(sock);
	if (err)
		fail(err, "sending the seccomp listener fd to linux.seccomp.listenerPath");
}

/* Default dispositions and an empty mask: ignored signals would survive execve. */
static void reset_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		sigaction(sig, &sa, NULL);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFLNK: return "a symlink";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	default: return "of another type";
	}
}

/* ---- the loop ---- */

static void run_op(const struct op *o)
{
	char b1[32], b2[32];
	switch (o->code) {
	case OP_REG_FD:
		set_reg(o, 1, (int)num(o, 2));
		break;
	case OP_CLOSE: {
		int64_t r = num(o, 1);
		if (r >= 0 && r < NREG && reg[r] >= 0) {
			close(reg[r]);
			reg[r] = -1;
		}
		break;
	}
	case OP_OPEN: {
		/* out, root (a register; -1: a host path; -2: a host path that must hold no symlink), path, flags, missing-ok */
		int64_t where = num(o, 2);
		const char *path = str(o, 3);
		int flags = (int)num(o, 4), fd;
		if (where >= 0) {
			fd = in_root_open(regfd(o, 2), path, flags);
		} else if (where == -2) {
			char rel[PATH_MAX];
			const char *r = relative(path, rel, sizeof(rel));
			int slash = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
			fd = r && slash >= 0 ? openat2_fd(slash, r, flags, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) : -1;
			int e = errno;
			if (slash >= 0)
				close(slash);
			errno = e;
			if (fd < 0 && errno == ELOOP)
				fail(0, "%s is a symlink or has one on its way", path);
		} else {
			fd = open(path, flags | O_CLOEXEC);
		}
		if (fd < 0 && !(errno == ENOENT && num(o, 5)))
			fail(errno, "opening %s", path);
		set_reg(o, 1, fd);
		break;
	}
	case OP_MKDIR_ALL: {
		int fd = mkdir_all(regfd(o, 2), str(o, 3), (mode_t)num(o, 4));
		if (fd < 0)
			fail(errno, "creating directory %s", str(o, 3));
		set_reg(o, 1, fd);
		break;
	}
	case OP_MKFILE: {
		int fd = mkfile(regfd(o, 2), str(o, 3));
		if (fd < 0)
			fail(errno, "creating file %s", str(o, 3));
		set_reg(o, 1, fd);
		break;
	}
	case OP_MOUNT: {
		/* source register or -1, source text, target register or -1, target text, fstype, flags, data */
		int sfd = regfd(o, 1), tfd = regfd(o, 3);
		const char *src = sfd >= 0 ? fd_path(sfd, b1) : opt_str(o, 2);
		const char *target = tfd >= 0 ? fd_path(tfd, b2) : str(o, 4);
		const char *fstype = opt_str(o, 5), *data = opt_str(o, 7);
		if (mount(src, target, fstype, (unsigned long)num(o, 6), data) < 0) {
			if (data)
				fail(errno, "mount of %s with options \"%s\"", fstype ? fstype : "bind", data);
			fail(errno, "mount");
		}
		break;
	}
	case OP_REMOUNT: {
		/* target register, target text (used instead of the register's path when set), flags, carry-locked */
		int fd = regfd(o, 1);
		const char *text = opt_str(o, 2);
		int carry = (int)num(o, 4);
		if (carry && fd < 0)
			fail(0, "malformed plan: remount without a descriptor");
		remount(fd, text, (unsigned long)num(o, 3), carry, current_step);
		break;
	}
	case OP_SETATTR: {
		/* target register, set, clear, recursive */
		struct mount_attr_arg attr = { .attr_set = (uint64_t)num(o, 2), .attr_clr = (uint64_t)num(o, 3) };
		if (syscall(SYS_mount_setattr, regfd(o, 1), "", AT_EMPTY_PATH | (num(o, 4) ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0)
			fail(errno, "mount_setattr");
		break;
	}
	case OP_MOVE_MOUNT:
		if (syscall(SYS_move_mount, regfd(o, 1), "", regfd(o, 2), "", 0x4 /* F_EMPTY_PATH */ | 0x40 /* T_EMPTY_PATH */) < 0)
			fail(errno, "move_mount");
		break;
	case OP_MKNOD: {
		/* root, path, mode (type|perm), major, minor, owner (uid or -1), gid */
		int root = regfd(o, 1);
		const char *path = str(o, 2);
		char rel[PATH_MAX], dir[PATH_MAX];
		const char *r = relative(path, rel, sizeof(rel));
		if (!r)
			fail(ENAMETOOLONG, "%s", path);
		const char *name;
		split(r, dir, sizeof(dir), &name);
		int parent = mkdir_all(root, dir, 0755);
		if (parent < 0)
			fail(errno, "creating directory %s", dir);
		mode_t mode = (mode_t)num(o, 3);
		if (mknodat(parent, name, mode, makedev((unsigned)num(o, 4), (unsigned)num(o, 5))) < 0) {
			if (errno != EEXIST)
				fail(errno, "mknod %s", path);
			close(parent);
			break;
		}
		int node = openat2_fd(parent, name, O_PATH | O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
		if (node < 0)
			fail(errno, "opening %s", path);
		/* mknod's mode is cut by the umask; the spec's fileMode is meant exactly. */
		if (chmod(fd_path(node, b1), mode & 07777) < 0)
			fail(errno, "chmod %s", path);
		if (num(o, 6) >= 0 && chown(fd_path(node, b1), (uid_t)num(o, 6), (gid_t)num(o, 7)) < 0)
			fail(errno, "chown %s", path);
		close(node);
		close(parent);
		break;
	}
	case OP_SYMLINK:
		/* directory register, link target, name, replace */
		if (num(o, 4))
			unlinkat(regfd(o, 1), str(o, 3), 0);
		if (symlinkat(str(o, 2), regfd(o, 1), str(o, 3)) < 0 && errno != EEXIST)
			fail(errno, "symlink %s", str(o, 3));
		break;
	case OP_PIVOT_ROOT: {
		/* the new root (a register): pivot_root(".", "."), then the old root, stacked on it, is detached */
		int oldroot = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (oldroot < 0)
			fail(errno, "opening /");
		if (fchdir(regfd(o, 1)) < 0)
			fail(errno, "fchdir to the rootfs");
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			fail(errno, "pivot_root");
		if (fchdir(oldroot) < 0)
			fail(errno, "fchdir");
		/* Slave first: the detach must not propagate to the host's mounts. */
		do_mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL, "old root");
		if (umount2(".", MNT_DETACH) < 0)
			fail(errno, "unmounting the old root");
		if (chdir("/") < 0)
			fail(errno, "chdir /");
		close(oldroot);
		break;
	}
	case OP_MOVE_ROOT:
		/* the new root (a register): MS_MOVE over / and chroot, for roots where pivot_root fails */
		if (fchdir(regfd(o, 1)) < 0)
			fail(errno, "fchdir to the rootfs");
		do_mount(".", "/", NULL, MS_MOVE, NULL, "rootfs");
		if (chroot(".") < 0)
			fail(errno, "chroot");
		if (chdir("/") < 0)
			fail(errno, "chdir /");
		break;
	case OP_CHROOT:
		/* the rootfs (a register): without a mount namespace of its own, the process is only chrooted */
		if (fchdir(regfd(o, 1)) < 0)
			fail(errno, "fchdir to the rootfs");
		if (chroot(".") < 0)
			fail(errno, "chroot");
		if (chdir("/") < 0)
			fail(errno, "chdir /");
		break;
	case OP_CHECK_PROC:
		check_proc_target(o);
		break;
	case OP_CHECK_NODE: {
		/* register, file type (S_IF*), major, minor: what is bound must be the node the config names */
		struct stat st;
		if (fstat(regfd(o, 1), &st) < 0)
			fail(errno, "stat");
		mode_t want = (mode_t)num(o, 2);
		if ((st.st_mode & S_IFMT) != want ||
		    (want != S_IFIFO && (major(st.st_rdev) != (unsigned)num(o, 3) || minor(st.st_rdev) != (unsigned)num(o, 4))))
			fail(0, "the host's %s is %s %u:%u, not the %s %lld:%lld asked for (a user namespace binds the host's node)",
			     str(o, 5), file_kind(st.st_mode), major(st.st_rdev), minor(st.st_rdev), file_kind(want), (long long)num(o, 3),
			     (long long)num(o, 4));
		break;
	}
	case OP_SETHOSTNAME:
		if (sethostname(str(o, 1), strlen(str(o, 1))) < 0)
			fail(errno, "sethostname");
		break;
	case OP_SETDOMAINNAME:
		if (setdomainname(str(o, 1), strlen(str(o, 1))) < 0)
			fail(errno, "setdomainname");
		break;
	case OP_PROC_WRITE:
		proc_write(str(o, 1), str(o, 2), str(o, 3));
		break;
	case OP_MASK: {
		/* root, path, /dev/null register (opened and checked once, for the first masked file) */
		int target = in_root_open(regfd(o, 1), str(o, 2), O_PATH);
		if (target < 0 && errno == ENOENT)
			break;
		if (target < 0)
			fail(errno, "opening %s", str(o, 2));
		struct stat st;
		if (fstat(target, &st) < 0)
			fail(errno, "stat %s", str(o, 2));
		if (S_ISDIR(st.st_mode)) {
			do_mount("tmpfs", fd_path(target, b1), "tmpfs", MS_RDONLY, NULL, str(o, 2));
		} else {
			int64_t r = num(o, 3);
			if (r < 0 || r >= NREG)
				fail(0, "malformed plan: register %lld", (long long)r);
			if (reg[r] < 0) {
				/* Only the real /dev/null may cover a file: a swapped one would unmask it (CVE-2025-31133). */
				int dn = in_root_open(regfd(o, 1), "/dev/null", O_PATH);
				struct stat ds;
				if (dn < 0 || fstat(dn, &ds) < 0 || !S_ISCHR(ds.st_mode) || major(ds.st_rdev) != 1 ||
				    minor(ds.st_rdev) != 3)
					fail(0, "masking %s: /dev/null is not the null device (char 1:3)", str(o, 2));
				reg[r] = dn;
			}
			do_mount(fd_path(reg[r], b2), fd_path(target, b1), NULL, MS_BIND, NULL, str(o, 2));
		}
		close(target);
		break;
	}
	case OP_READONLY: {
		/* root, path, carry-locked: bind onto itself, then remount that bind read-only */
		int root = regfd(o, 1);
		int target = in_root_open(root, str(o, 2), O_PATH);
		if (target < 0 && errno == ENOENT)
			break;
		if (target < 0)
			fail(errno, "opening %s", str(o, 2));
		do_mount(fd_path(target, b1), fd_path(target, b1), NULL, MS_BIND | MS_REC, NULL, str(o, 2));
		close(target);
		int mounted = in_root_open(root, str(o, 2), O_PATH);
		if (mounted < 0)
			fail(errno, "opening %s", str(o, 2));
		remount(mounted, NULL, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_REC, (int)num(o, 3), str(o, 2));
		close(mounted);
		break;
	}
	case OP_CONSOLE:
		console(regfd(o, 1), num(o, 2), num(o, 3), (int)num(o, 4));
		break;
	case OP_HOOK: {
		/* path, args, env, timeout (s, 0 for none), state */
		char **args = list(o, 2, NULL), **env = list(o, 3, NULL);
		run_hook(str(o, 1), args, env, num(o, 4), o->a[5].p, o->a[5].len);
		free(args);
		free(env);
		break;
	}
	case OP_RUNTIME_HOOKS:
		send_msg(SYNC_RUNTIME_HOOKS);
		expect_msg(SYNC_RUNTIME_HOOKS_DONE);
		break;
	case OP_RLIMIT: {
		struct rlimit rl = { .rlim_cur = (rlim_t)num(o, 2), .rlim_max = (rlim_t)num(o, 3) };
		if (setrlimit((int)num(o, 1), &rl) < 0) {
			int e = errno;
			struct rlimit now;
			if (e == EPERM && getrlimit((int)num(o, 1), &now) == 0)
				fail(e, "hard limit %llu is above the runtime's %llu: raising it needs CAP_SYS_RESOURCE",
				     (unsigned long long)rl.rlim_max, (unsigned long long)now.rlim_max);
			fail(e, "setrlimit");
		}
		break;
	}
	case OP_PERSONALITY:
		if (personality((unsigned long)num(o, 1)) < 0)
			fail(errno, "personality");
		break;
	case OP_MEMPOLICY: {
		const struct arg *mask = &o->a[2];
		if (syscall(SYS_set_mempolicy, (int)num(o, 1), mask->len ? mask->p : NULL, (unsigned long)mask->len * 8 + 1) < 0)
			fail(errno, "set_mempolicy");
		break;
	}
	case OP_IOPRIO:
		if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)num(o, 1)) < 0)
			fail(errno, "ioprio_set");
		break;
	case OP_SCHED: {
		/* struct sched_attr, version 1 (56 bytes) */
		struct {
			uint32_t size, policy;
			uint64_t flags;
			int32_t nice;
			uint32_t priority;
			uint64_t runtime, deadline, period;
		} attr = { 48, (uint32_t)num(o, 1), (uint64_t)num(o, 2), (int32_t)num(o, 3), (uint32_t)num(o, 4),
			   (uint64_t)num(o, 5), (uint64_t)num(o, 6), (uint64_t)num(o, 7) };
		if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
			fail(errno, "sched_setattr");
		break;
	}
	case OP_AFFINITY: {
		const struct arg *mask = &o->a[1];
		if (syscall(SYS_sched_setaffinity, 0, mask->len, mask->p) < 0)
			fail(errno, "sched_setaffinity");
		break;
	}
	case OP_KEYRING: {
		/* A session keyring of the container's own; a kernel without keyrings has nothing to isolate. */
		long ring = syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, str(o, 1));
		if (ring < 0 && errno == ENOSYS)
			break;
		if (ring < 0)
			fail(errno, "joining a session keyring");
		if (syscall(SYS_keyctl, 5 /* KEYCTL_SETPERM */, ring, (unsigned long)num(o, 2)) < 0)
			fail(errno, "setting the keyring's permissions");
		break;
	}
	case OP_UMASK:
		umask((mode_t)num(o, 1));
		break;
	case OP_CHDIR: {
		const char *dir = str(o, 1);
		if (chdir(dir) < 0)
			fail(errno, "chdir %s", dir);
		/* A cwd reached through a descriptor outside the root (CVE-2024-21626) shows as unreachable. */
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/')
			fail(0, "process.cwd %s resolves outside the container's root", dir);
		break;
	}
	case OP_FIND_EXEC:
		find_exec(str(o, 1), str(o, 2));
		break;
	case OP_CHECK_MAPPED: {
		/* uid, gid, extra gids (list of decimal strings) */
		uint32_t uid = (uint32_t)num(o, 1), gid = (uint32_t)num(o, 2);
		if (!mapped("uid_map", uid))
			fail(0, "process.user.uid %u is not mapped in the container's user namespace", uid);
		if (!mapped("gid_map", gid))
			fail(0, "process.user.gid %u is not mapped in the container's user namespace", gid);
		char **gids = list(o, 3, NULL);
		for (char **g = gids; *g; g++)
			if (!mapped("gid_map", (uint32_t)strtoul(*g, NULL, 10)))
				fail(0, "process.user.additionalGids: %s is not mapped in the container's user namespace", *g);
		free(gids);
		break;
	}
	case OP_HOME:
		find_home((uint32_t)num(o, 1));
		break;
	case OP_READY:
		send_msg(SYNC_READY);
		break;
	case OP_WAIT_FIFO:
		wait_fifo(regfd(o, 1), regfd(o, 2));
		break;
	case OP_NO_NEW_PRIVS:
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			fail(errno, "prctl(PR_SET_NO_NEW_PRIVS)");
		break;
	case OP_SECCOMP:
		load_seccomp(o);
		break;
	case OP_DROP_BOUNDING: {
		uint64_t keep = (uint64_t)num(o, 1);
		int last = (int)num(o, 2);
		for (int cap = 0; cap <= last && cap < 64; cap++)
			if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
				fail(errno, "dropping capability %d from the bounding set", cap);
		break;
	}
	case OP_KEEP_CAPS:
		if (prctl(PR_SET_KEEPCAPS, (unsigned long)num(o, 1), 0, 0, 0) < 0)
			fail(errno, "prctl(PR_SET_KEEPCAPS)");
		break;
	case OP_COPY_TREE:
		/* from (the covered directory, or -1 when there was none), to (the new tmpfs's root) */
		if (regfd(o, 1) >= 0)
			copy_tree(regfd(o, 1), regfd(o, 2), 0);
		break;
	case OP_LOOPBACK_UP: {
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct ifreq req;
		memset(&req, 0, sizeof(req));
		strcpy(req.ifr_name, "lo");
		if (s < 0 || ioctl(s, SIOCGIFFLAGS, &req) < 0)
			fail(errno, "ioctl(SIOCGIFFLAGS) lo");
		req.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &req) < 0)
			fail(errno, "ioctl(SIOCSIFFLAGS) lo");
		close(s);
		break;
	}
	case OP_SETGROUPS: {
		/* A user namespace whose setgroups file says "deny" (rootless maps) forbids setgroups(2). */
		size_t n;
		char **v = list(o, 1, &n);
		char deny[8] = "";
		int sg = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
		if (sg >= 0) {
			ssize_t r = read(sg, deny, sizeof(deny) - 1);
			deny[r > 0 ? r : 0] = '\0';
			close(sg);
		}
		if (strncmp(deny, "deny", 4) == 0) {
			if (n > 0)
				fail(0, "process.user.additionalGids: this user namespace denies setgroups");
			free(v);
			break;
		}
		gid_t *gids = calloc(n ? n : 1, sizeof(gid_t));
		if (!gids)
			fail(ENOMEM, "allocating");
		for (size_t i = 0; i < n; i++) {
			gids[i] = (gid_t)strtoul(v[i], NULL, 10);
			if (gids[i] == (gid_t)-1)
				fail(EINVAL, "gid 4294967295 is the kernel's -1, not an id");
		}
		if (syscall(SYS_setgroups, n, gids) < 0)
			fail(errno, "setgroups");
		free(gids);
		free(v);
		break;
	}
	case OP_SETGID:
	case OP_SETUID: {
		/* The launcher refused the kernel's -1 ("leave unchanged") already; this is the last place that could. */
		uint32_t id = (uint32_t)num(o, 1);
		int gid = o->code == OP_SETGID;
		if (id == UINT32_MAX)
			fail(EINVAL, "%s 4294967295 is the kernel's -1, not an id", gid ? "gid" : "uid");
		if (syscall(gid ? SYS_setresgid : SYS_setresuid, id, id, id) < 0)
			fail(errno, "%s(%u)", gid ? "setresgid" : "setresuid", id);
		break;
	}
	case OP_CAPSET:
		capset_sets((uint64_t)num(o, 1), (uint64_t)num(o, 2), (uint64_t)num(o, 3));
		break;
	case OP_AMBIENT: {
		uint64_t raise = (uint64_t)num(o, 1);
		int last = (int)num(o, 2);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
			fail(errno, "clearing the ambient set");
		for (int cap = 0; cap <= last && cap < 64; cap++)
			if ((raise & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
				fail(errno, "raising ambient capability %d", cap);
		break;
	}
	case OP_RESET_SIGNALS:
		reset_signals();
		break;
	case OP_CLOEXEC_FROM:
		if (syscall(SYS_close_range, (unsigned)num(o, 1), ~0U, CLOSE_RANGE_CLOEXEC) < 0)
			fail(errno, "close_range");
		break;
	case OP_PREPARE_EXEC: {
		/* args, env: made into vectors here, so the exec after the filter allocates nothing */
		size_t nenv;
		exec_args = list(o, 1, NULL);
		exec_env = list(o, 2, &nenv);
		if (home_env) {
			char **more = realloc(exec_env, (nenv + 2) * sizeof(char *));
			if (!more)
				fail(ENOMEM, "allocating");
			exec_env = more;
			exec_env[nenv] = home_env;
			exec_env[nenv + 1] = NULL;
		}
		if (!exec_path)
			fail(0, "malformed plan: exec prepared before the executable was found");
		check_exec_size(num(o, 3));
		break;
	}
	case OP_EXEC:
		/* The only call after the seccomp filter: nothing here may need a syscall a profile could deny. */
		if (!exec_args)
			fail(0, "malformed plan: exec before it was prepared");
		execve(exec_path, exec_args, exec_env);
		fail(errno, "execve %s", exec_path);
	default:
		fail(0, "malformed plan: unknown operation %u", o->code);
	}
}

/* Reads the plan ({u32 type, u32 length, plan}) from the sync socket and runs it; never returns. */
void berth_run_plan(int fd)
{
	sync_fd = fd;
	for (int i = 0; i < NREG; i++)
		reg[i] = -1;
	uint32_t hdr[2];
	if (read_all(sync_fd, hdr, sizeof(hdr)) < 0)
		fail(errno, "reading the plan");
	if (hdr[0] != SYNC_PLAN || hdr[1] > INIT_MAX_PLAN_BYTES || hdr[1] < 8)
		fail(0, "protocol error: expected the plan, got message %u of %u bytes", hdr[0], hdr[1]);
	char *plan = malloc(hdr[1]);
	if (!plan)
		fail(ENOMEM, "allocating %u bytes for the plan", hdr[1]);
	if (read_all(sync_fd, plan, hdr[1]) < 0)
		fail(errno, "reading the plan");
	uint32_t magic, nops;
	memcpy(&magic, plan, 4);
	memcpy(&nops, plan + 4, 4);
	if (magic != INIT_PLAN_MAGIC)
		fail(0, "protocol error: not a plan");
	size_t off = 8, len = hdr[1];
	for (uint32_t i = 0; i < nops; i++) {
		struct op o;
		if (off + 8 > len)
			fail(0, "malformed plan: truncated at op %u", i);
		memcpy(&o.code, plan + off, 4);
		memcpy(&o.nargs, plan + off + 4, 4);
		off += 8;
		if (o.nargs == 0 || o.nargs > INIT_MAX_ARGS)
			fail(0, "malformed plan: op %u has %u arguments", i, o.nargs);
		for (uint32_t k = 0; k < o.nargs; k++) {
			uint32_t alen;
			if (off + 4 > len)
				fail(0, "malformed plan: truncated at op %u", i);
			memcpy(&alen, plan + off, 4);
			off += 4;
			if (alen > len - off)
				fail(0, "malformed plan: truncated at op %u", i);
			o.a[k].p = plan + off;
			o.a[k].len = alen;
			off += alen;
		}
		current_index = i;
		current_step = str(&o, 0);
		run_op(&o);
	}
	current_step = "plan";
	fail(0, "malformed plan: it ends without exec");
}
