/*
 * common/fdpass.h: one message with descriptors attached (SCM_RIGHTS), for
 * the protocol code, the supervisor and its workers alike.
 */
#ifndef MARCD_FDPASS_H
#define MARCD_FDPASS_H

#include <sys/types.h>

#include <stddef.h>

#define FDPASS_MAX	8	/* descriptors one message may carry */

ssize_t	fdpass_send(int sock, const void *p, size_t n, const int *fds,
	    int nfds, int flags);
ssize_t	fdpass_recv(int sock, void *p, size_t n, int flags, int *fds,
	    int max, int *nfds, int *cut);

#endif
