/* probe NR [ARG...]: makes one raw system call and prints "ok RET" or "err ERRNO".
 * Built statically by the tests and copied into busybox rootfs, where it shows what a seccomp
 * filter does to one syscall. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	long a[6] = { 0 };
	if (argc < 2) {
		fprintf(stderr, "usage: probe NR [ARG...]\n");
		return 2;
	}
	long nr = strtol(argv[1], NULL, 0);
	for (int i = 2; i < argc && i < 8; i++)
		a[i - 2] = strtol(argv[i], NULL, 0);
	errno = 0;
	long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (r == -1)
		printf("err %d\n", errno);
	else
		printf("ok %ld\n", r);
	return 0;
}
