/* listener SOCKET OUT: a minimal seccomp agent for the NOTIFY test. Accepts one connection,
 * receives the listener fd (SCM_RIGHTS) with the container process state, writes the state to
 * OUT, then answers one notification with the value 4242 and writes "notified NR" to OUT.n. */
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	strncpy(addr.sun_path, argv[1], sizeof(addr.sun_path) - 1);
	unlink(argv[1]);
	if (bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(s, 1) < 0) {
		perror("bind/listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	int c = accept(s, NULL, NULL);
	if (c < 0)
		return 1;
	static char buf[65536];
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
	ssize_t n = recvmsg(c, &msg, 0);
	if (n <= 0)
		return 1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return 1;
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	FILE *out = fopen(argv[2], "w");
	fwrite(buf, 1, (size_t)n, out);
	fclose(out);

	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	memset(&req, 0, sizeof(req));
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
		perror("NOTIF_RECV");
		return 1;
	}
	memset(&resp, 0, sizeof(resp));
	resp.id = req.id;
	resp.val = 4242;
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0) {
		perror("NOTIF_SEND");
		return 1;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s.n", argv[2]);
	out = fopen(path, "w");
	fprintf(out, "notified %d\n", req.data.nr);
	fclose(out);
	return 0;
}
