/* probe NR [ARG...]: makes one raw system call and prints "ok RET" or "err ERRNO".
 * probe notify MESSAGE: sends MESSAGE to $NOTIFY_SOCKET, as sd_notify does.
 * Built statically by the tests and copied into busybox rootfs, where it shows what a seccomp
 * filter does to one syscall. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
	long a[6] = { 0 };
	if (argc < 2) {
		fprintf(stderr, "usage: probe NR [ARG...]\n");
		return 2;
	}
	if (strcmp(argv[1], "notify") == 0 && argc == 3) {
		const char *path = getenv("NOTIFY_SOCKET");
		struct sockaddr_un addr = { .sun_family = AF_UNIX };
		if (!path)
			return 3;
		strncpy(addr.sun_path, path, sizeof(addr.sun_path) - 1);
		int s = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (sendto(s, argv[2], strlen(argv[2]), 0, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
			printf("err %d\n", errno);
			return 0;
		}
		printf("sent\n");
		return 0;
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
