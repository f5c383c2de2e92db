/*
 * common/proto.h: framing of the marcd wire protocol (proto/marcd.proto).
 *
 * A frame is an 8-byte header and a protobuf payload:
 *
 *   bytes 0-1  'M' 'D'
 *   byte  2    PROTO_VERSION
 *   byte  3    message type (enum proto_type)
 *   bytes 4-7  payload length, little-endian uint32, <= the receiver's cap
 *
 * File descriptors travel as SCM_RIGHTS with the frame.  The receiver gives
 * an fd to the frame holding the last byte of the recvmsg that delivered it;
 * that is the right frame as long as a sendmsg carrying fds carries bytes of
 * no other frame (proto_send and proto_write_fd keep to that; a sender that
 * coalesces frames must send the one with an fd on its own).  Only Welcome
 * (two: the arena, read-only, and the client's own ring) and Submit (one:
 * the batch) may carry fds: anything else is a protocol error, and every fd
 * the caller is not handed is closed.
 *
 * Unknown types: the decoder checks magic, version and length only and
 * hands any type byte (0-255) back.  What to do with a type it does not
 * handle is the caller's decision: the daemon answers
 * Error{ERROR_UNKNOWN_TYPE} and closes the connection, a client gives up.
 */
#ifndef MARCD_PROTO_H
#define MARCD_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "buf.h"
#include "proto/marcd.pb-c.h"

#define PROTO_MAGIC0		'M'
#define PROTO_MAGIC1		'D'
#define PROTO_VERSION		2
#define PROTO_HDR_LEN		8
#define PROTO_MAX_FRAME		(4u * 1024 * 1024)	/* payload bytes */
#define PROTO_RX_MAXFDS		4	/* fds queued in a decoder at once */
#define PROTO_MAX_FDS		2	/* fds with one frame */

/* Byte 3 of the header. */
enum proto_type {
	PROTO_HELLO = 1,
	PROTO_WELCOME,
	PROTO_SUBMIT,
	PROTO_ACCEPTED,
	PROTO_RELEASE,
	PROTO_STATUS_REQUEST,
	PROTO_BATCH_STATUS,
	PROTO_CANCEL,
	PROTO_STATS_REQUEST,
	PROTO_STATS,
	PROTO_ERROR,
	PROTO_TYPE_MAX = PROTO_ERROR
};

/* Error.code values, short names for the ErrorCode enum of the .proto. */
enum proto_err {
	PROTO_E_NONE = MARCD__ERROR_CODE__ERROR_NONE,
	PROTO_E_BAD_FRAME = MARCD__ERROR_CODE__ERROR_BAD_FRAME,
	PROTO_E_BAD_VERSION = MARCD__ERROR_CODE__ERROR_BAD_VERSION,
	PROTO_E_UNKNOWN_TYPE = MARCD__ERROR_CODE__ERROR_UNKNOWN_TYPE,
	PROTO_E_TOO_LARGE = MARCD__ERROR_CODE__ERROR_TOO_LARGE,
	PROTO_E_BAD_MESSAGE = MARCD__ERROR_CODE__ERROR_BAD_MESSAGE,
	PROTO_E_NOT_AUTHORISED = MARCD__ERROR_CODE__ERROR_NOT_AUTHORISED,
	PROTO_E_NO_SUCH_BATCH = MARCD__ERROR_CODE__ERROR_NO_SUCH_BATCH,
	PROTO_E_BUSY = MARCD__ERROR_CODE__ERROR_BUSY,
	PROTO_E_INTERNAL = MARCD__ERROR_CODE__ERROR_INTERNAL,
	PROTO_E_SHUTTING_DOWN = MARCD__ERROR_CODE__ERROR_SHUTTING_DOWN
};

/*
 * Unpack budget for what clients send the daemon (all but Welcome, Accepted,
 * BatchStatus, Stats, Error): their largest honest expansion is a packed
 * repeated uint32, 1 byte in and 4 out.  Stats grows by about 50 bytes per
 * byte; a client unpacking it picks a budget of its own.
 */
#define PROTO_BUDGET(len)	((size_t)(len) * 8 + 64 * 1024)

/* Incremental decoder state; treat as opaque. */
struct proto_rx {
	uint8_t		*buf;
	size_t		 cap;
	size_t		 off;		/* first unconsumed byte */
	size_t		 len;		/* bytes held */
	size_t		 taken;		/* frame handed out, dropped next call */
	uint64_t	 base;		/* stream offset of buf[0] */
	uint32_t	 max_frame;
	uint32_t	 err;		/* sticky protocol error, 0 none */
	int		 nfds;
	int		 fds[PROTO_RX_MAXFDS];
	uint64_t	 fd_end[PROTO_RX_MAXFDS];	/* stream offset after
							   the read with it */
};

/* Descriptor of the message a frame type carries, or NULL if unknown. */
const ProtobufCMessageDescriptor *proto_descriptor(uint8_t type);
/* Whether a frame of this type may come with an fd, and with how many. */
int	proto_type_takes_fd(uint8_t type);
int	proto_type_max_fds(uint8_t type);
/* Name of a frame type for logs ("hello"), "unknown" if none. */
const char *proto_type_name(uint8_t type);

/* Append one frame (header and packed msg, NULL = empty) to out: 0 or -1. */
int	proto_pack(struct mbuf *out, uint8_t type, const ProtobufCMessage *msg);
/* Blocking send of one frame and up to one fd (-1 none): 0 or -1 (errno). */
int	proto_send(int sock, uint8_t type, const ProtobufCMessage *msg, int fd);
/*
 * One non-blocking sendmsg of p[0..n) with fd attached (-1 none), for
 * senders with their own output queue: bytes sent, or -1 (errno; EAGAIN).
 * p[0..n) must not hold bytes of a frame other than the fd's.
 */
ssize_t	proto_write_fd(int sock, const void *p, size_t n, int fd);
/* The same with nfds (<= PROTO_MAX_FDS) fds attached. */
ssize_t	proto_write_fds(int sock, const void *p, size_t n, const int *fds,
	    int nfds);

/* Start a decoder whose frames may hold up to max_frame payload bytes. */
void	proto_rx_init(struct proto_rx *, uint32_t max_frame);
/* Free the buffer and close every fd not handed out. */
void	proto_rx_free(struct proto_rx *);
/*
 * One recvmsg (MSG_DONTWAIT, MSG_CMSG_CLOEXEC): 1 bytes read, 0 EOF, -1
 * error (errno; EAGAIN: try later; ENOBUFS: call proto_rx_frame first).
 */
int	proto_rx_read(struct proto_rx *, int sock);
/* Add bytes (and fds, which the decoder then owns) as if read at once. */
int	proto_rx_feed(struct proto_rx *, const void *, size_t,
	    const int *fds, int nfds);
/*
 * Next whole frame: 1 frame (payload valid until the next call; *fd an fd
 * that came with it or -1, the caller's to close; fd NULL closes it), 0
 * need more bytes, -1 protocol error (*err an ERROR_* code; drop the peer).
 */
int	proto_rx_frame(struct proto_rx *, uint8_t *type,
	    const uint8_t **payload, uint32_t *len, int *fd, uint32_t *err);
/* Free the buffer if nothing is held in it (a reader gone idle). */
void	proto_rx_shrink(struct proto_rx *);
/* As proto_rx_frame, handing the frame's fds (the caller's to close) to
 * fds[0..*nfds); more than max of them is a protocol error. */
int	proto_rx_frame_fds(struct proto_rx *, uint8_t *type,
	    const uint8_t **payload, uint32_t *len, int *fds, int max,
	    int *nfds, uint32_t *err);
/* Bytes held that are not yet part of a frame handed out. */
size_t	proto_rx_pending(const struct proto_rx *);
/*
 * Blocking receive of one frame, waiting up to timeout_ms (-1 forever): 1
 * frame (as proto_rx_frame), 0 EOF between frames, -1 error (errno:
 * ETIMEDOUT, EPROTO a protocol error, ECONNRESET EOF inside a frame).
 */
int	proto_recv(int sock, struct proto_rx *, uint8_t *type,
	    const uint8_t **payload, uint32_t *len, int *fd, int timeout_ms);
/* As proto_recv, with the frame's fds as proto_rx_frame_fds gives them. */
int	proto_recv_fds(int sock, struct proto_rx *, uint8_t *type,
	    const uint8_t **payload, uint32_t *len, int *fds, int max,
	    int *nfds, int timeout_ms);

/*
 * Unpack untrusted bytes allocating at most budget bytes in total (each
 * allocation counts in full, freed or not): the message, or NULL.  Strings
 * are C strings: one with a NUL inside arrives cut at it, and UTF-8 is not
 * checked; validate names before use.
 */
void	*proto_unpack(const ProtobufCMessageDescriptor *, const uint8_t *,
	    size_t, size_t budget);
/* Free what proto_unpack returned; NULL is fine. */
void	 proto_free_unpacked(void *msg);

#endif
