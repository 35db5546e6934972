/*
 * The plan executor's numbers, shared by native/nsenter.c and native/init.c. The C# side
 * (src/Berth.Runtime/Protocol/InitPlan.cs, SyncSocket.cs) spells the same numbers: change
 * both together.
 */
#ifndef BERTH_INIT_H
#define BERTH_INIT_H

#define INIT_PLAN_MAGIC 0x4e4c5042u /* "BPLN" */
#define INIT_MAX_ARGS 12
#define INIT_MAX_PLAN_BYTES (1u << 30)

/* Sync socket messages the executor sends or expects (SyncType in C#). */
enum init_sync {
	SYNC_READY = 8,
	SYNC_RUNTIME_HOOKS = 9,
	SYNC_RUNTIME_HOOKS_DONE = 10,
	SYNC_PLAN = 13,
	SYNC_INIT_FAILED = 14,
};

/* Operations (PlanOp in C#). Arguments after the step name, in order, are listed in init.c. */
enum init_op {
	OP_REG_FD = 1,
	OP_CLOSE = 2,
	OP_OPEN = 3,
	OP_MKDIR_ALL = 4,
	OP_MKFILE = 5,
	OP_MOUNT = 6,
	OP_REMOUNT = 7,
	OP_SETATTR = 8,
	OP_MOVE_MOUNT = 9,
	OP_MKNOD = 10,
	OP_SYMLINK = 11,
	OP_PIVOT_ROOT = 12,
	OP_MOVE_ROOT = 13,
	OP_SETHOSTNAME = 14,
	OP_SETDOMAINNAME = 15,
	OP_PROC_WRITE = 16,
	OP_MASK = 17,
	OP_READONLY = 18,
	OP_CONSOLE = 19,
	OP_HOOK = 20,
	OP_RUNTIME_HOOKS = 21,
	OP_RLIMIT = 22,
	OP_PERSONALITY = 23,
	OP_MEMPOLICY = 24,
	OP_IOPRIO = 25,
	OP_SCHED = 26,
	OP_AFFINITY = 27,
	OP_KEYRING = 28,
	OP_UMASK = 29,
	OP_CHDIR = 30,
	OP_FIND_EXEC = 31,
	OP_CHECK_MAPPED = 32,
	OP_HOME = 33,
	OP_READY = 34,
	OP_WAIT_FIFO = 35,
	OP_NO_NEW_PRIVS = 36,
	OP_SECCOMP = 37,
	OP_DROP_BOUNDING = 38,
	OP_KEEP_CAPS = 39,
	OP_SETGROUPS = 40,
	OP_SETGID = 41,
	OP_SETUID = 42,
	OP_CAPSET = 43,
	OP_AMBIENT = 44,
	OP_RESET_SIGNALS = 45,
	OP_CLOEXEC_FROM = 46,
	OP_EXEC = 47,
	OP_LOOPBACK_UP = 48,
	OP_PREPARE_EXEC = 49,
	OP_COPY_TREE = 50,
	OP_CHECK_PROC = 51,
	OP_CHECK_NODE = 52,
	OP_CHROOT = 53,
};

/* Runs the plan read from the sync socket; never returns (execve, or _exit on failure). */
void berth_run_plan(int sync_fd) __attribute__((noreturn));

#endif
