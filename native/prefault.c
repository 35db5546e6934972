/*
 * prefault: populates the executable's writable segment in one madvise call before the .NET
 * runtime starts. NativeAOT rehydrates ~0.7 MB of type data into .hydrated at every start;
 * touched page by page that is ~200 faults, and on the VMs Berth runs on a fault costs ~10 µs
 * (measured: 10 µs per fault, 0.6 µs per page with MADV_POPULATE_WRITE). Runs for every
 * command, so it must stay one system call.
 */
#define _GNU_SOURCE
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <signal.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static int populate_rw_segment(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	/* arm64 kernels may use 16K or 64K pages: a misaligned start would make madvise fail. */
	const uintptr_t mask = (uintptr_t)getauxval(AT_PAGESZ) - 1;
	/* The loader has made the RELRO head of the segment read-only by now: start after it. */
	uintptr_t relro_end = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_GNU_RELRO)
			relro_end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + mask) & ~mask;
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
			continue;
		uintptr_t start = (info->dlpi_addr + ph->p_vaddr) & ~mask;
		if (start < relro_end)
			start = relro_end;
		uintptr_t end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + mask) & ~mask;
		/* Best effort: an older kernel without MADV_POPULATE_WRITE just faults as before. */
		madvise((void *)start, end - start, MADV_POPULATE_WRITE);
	}
	return 1; /* the first object is the executable itself */
}

/*
 * After nsenter (priority 101): the nsenter stage's intermediate process never gets here (it
 * forks and exits inside its constructor), and the container's init populates its own pages
 * after the fork instead of inheriting them copy-on-write.
 */
__attribute__((constructor(102))) static void prefault(void)
{
	dl_iterate_phdr(populate_rw_segment, NULL);
}

/*
 * A process starts with the signal state its parent left: conmon runs its exit command (berth
 * container cleanup) with SIGCHLD and SIGUSR1 blocked, and a parent may ignore SIGCHLD. The
 * .NET runtime learns of a child's exit from SIGCHLD: blocked on every thread (threads inherit
 * the mask of the thread that made them), no child is ever reaped and Process.WaitForExit
 * waits for ever. So, before the runtime makes its first thread: nothing blocked, SIGCHLD at
 * its default. (Other inherited dispositions, nohup's SIGHUP, are the caller's to keep.)
 */
__attribute__((constructor(103))) static void clear_inherited_signal_state(void)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	struct sigaction old;
	if (sigaction(SIGCHLD, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
		signal(SIGCHLD, SIG_DFL);
}
