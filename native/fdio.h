/*
 * Whole reads and writes on a descriptor, retried on EINTR: the one copy native/nsenter.c and
 * native/init.c share.
 */
#ifndef BERTH_FDIO_H
#define BERTH_FDIO_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

static inline int write_all(int fd, const void *buf, size_t len)
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

/* Reads exactly len bytes; end of file before that is EPIPE. */
static inline int read_all(int fd, void *buf, size_t len)
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

#endif
