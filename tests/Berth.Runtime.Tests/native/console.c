/* console SOCKET OUT: a console-socket receiver, as conmon is. Accepts one connection, receives
 * the pty master (SCM_RIGHTS), writes its window size to OUT.ws, types a command into the
 * container's shell and copies everything the pty says to OUT until it closes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	strncpy(addr.sun_path, argv[1], sizeof(addr.sun_path) - 1);
	unlink(argv[1]);
	if (bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(s, 1) < 0)
		return 1;
	printf("listening\n");
	fflush(stdout);
	int c = accept(s, NULL, NULL);
	char name[256] = { 0 };
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
	if (recvmsg(c, &msg, 0) <= 0)
		return 1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return 1;
	int master;
	memcpy(&master, CMSG_DATA(cm), sizeof(int));
	struct winsize ws;
	char path[4096];
	snprintf(path, sizeof(path), "%s.ws", argv[2]);
	FILE *f = fopen(path, "w");
	if (ioctl(master, TIOCGWINSZ, &ws) == 0)
		fprintf(f, "%d %d %s\n", ws.ws_row, ws.ws_col, name);
	fclose(f);
	if (write(master, argv[3], strlen(argv[3])) < 0)
		return 1;
	FILE *out = fopen(argv[2], "w");
	char buf[4096];
	ssize_t n;
	while ((n = read(master, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, out);
	fclose(out);
	return 0;
}
