/*
 * common/fdpass.c: sendmsg and recvmsg with SCM_RIGHTS, written out once.
 *
 * Received descriptors are close-on-exec, none is ever dropped unseen: any
 * beyond what the caller takes is closed here, and a control message the
 * kernel had to cut is reported, so the caller can refuse the peer.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "fdpass.h"

/* Control room for FDPASS_MAX descriptors and, should SO_PASSCRED be on,
 * the peer's credentials. */
union fdpass_cmsg {
	struct cmsghdr	h;
	char		b[CMSG_SPACE(sizeof(int) * FDPASS_MAX) +
			    CMSG_SPACE(sizeof(struct ucred))];
};

/* One sendmsg of p[0..n) with nfds descriptors (at most FDPASS_MAX);
 * EINTR is retried, everything else is the caller's. */
ssize_t
fdpass_send(int sock, const void *p, size_t n, const int *fds, int nfds,
    int flags)
{
	union fdpass_cmsg	 cm;
	struct iovec		 iov;
	struct msghdr		 msg;
	struct cmsghdr		*c;
	ssize_t			 r;

	if (nfds < 0 || nfds > FDPASS_MAX) {
		errno = EINVAL;
		return -1;
	}
	memset(&msg, 0, sizeof msg);
	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = n;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cm, 0, sizeof cm);
		msg.msg_control = cm.b;
		msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	do
		r = sendmsg(sock, &msg, flags);
	while (r < 0 && errno == EINTR);
	return r;
}

/*
 * One recvmsg into p[0..n): up to max descriptors land in fds (*nfds of
 * them), close-on-exec; more are closed.  *cut is set when the kernel cut
 * the control data or descriptors had to be closed: the peer sent more
 * than the caller allows.
 */
ssize_t
fdpass_recv(int sock, void *p, size_t n, int flags, int *fds, int max,
    int *nfds, int *cut)
{
	union fdpass_cmsg	 cm;
	struct iovec		 iov;
	struct msghdr		 msg;
	struct cmsghdr		*c;
	size_t			 k, got;
	ssize_t			 r;
	int			 fd;

	*nfds = 0;
	*cut = 0;
	memset(&msg, 0, sizeof msg);
	iov.iov_base = p;
	iov.iov_len = n;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.b;
	msg.msg_controllen = sizeof cm.b;
	do
		r = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return r;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < got; k++) {
			memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof fd);
			if (*nfds < max)
				fds[(*nfds)++] = fd;
			else {
				close(fd);
				*cut = 1;
			}
		}
	}
	if (msg.msg_flags & MSG_CTRUNC)
		*cut = 1;
	return r;
}
