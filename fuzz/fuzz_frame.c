/*
 * fuzz/fuzz_frame.c: libFuzzer target for the frame decoder and budgeted
 * unpacking of the wire protocol (common/proto.c).
 *
 * Input: byte 0 picks how the rest is cut into reads (bits 0-3: piece
 * size, 0 = all at once), whether fds ride along (bit 4: with every read,
 * bit 5: with every fourth), and the cap (bit 6: 64 bytes, else
 * PROTO_MAX_FRAME); byte 1 scales the unpack budget.  The rest is the
 * stream.  Every frame with a known type is unpacked; what unpacks must
 * pack and unpack again to the same bytes.  Every fd handed to the decoder
 * must be closed by the end, by it or by us.
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"

#define MAX_TRACK	4096

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	 devnull = -1;
static int	 tracked[MAX_TRACK];
static size_t	 ntracked;

/* A fresh fd for the decoder to own, remembered for the leak check. */
static int
fuzz_fd(void)
{
	int	fd;

	if (devnull == -1 && (devnull = open("/dev/null", O_RDONLY)) == -1)
		abort();
	if ((fd = fcntl(devnull, F_DUPFD_CLOEXEC, 0)) == -1)
		abort();
	if (ntracked < MAX_TRACK)
		tracked[ntracked++] = fd;
	return fd;
}

/* Unpack one payload; if it unpacks, a second trip must change nothing. */
static void
fuzz_unpack(uint8_t type, const uint8_t *p, uint32_t len, size_t budget)
{
	const ProtobufCMessageDescriptor	*d;
	struct mbuf				 a = { NULL, 0, 0 };
	struct mbuf				 b = { NULL, 0, 0 };
	void					*m, *m2;

	if ((d = proto_descriptor(type)) == NULL)
		return;
	if ((m = proto_unpack(d, p, len, budget)) == NULL)
		return;
	if (proto_pack(&a, type, m) == 0) {
		m2 = proto_unpack(d, a.p + PROTO_HDR_LEN,
		    a.len - PROTO_HDR_LEN, SIZE_MAX);
		if (m2 == NULL)
			abort();
		if (proto_pack(&b, type, m2) != 0 || a.len != b.len ||
		    memcmp(a.p, b.p, a.len) != 0)
			abort();
		proto_free_unpacked(m2);
	}
	mbuf_free(&a);
	mbuf_free(&b);
	proto_free_unpacked(m);
}

/* Take every whole frame held: 0 go on, -1 the stream is bad. */
static int
fuzz_drain(struct proto_rx *rx, uint8_t ctl)
{
	const uint8_t	*p;
	uint32_t	 len, err;
	uint8_t		 type;
	int		 r, fd;
	size_t		 budget;

	while ((r = proto_rx_frame(rx, &type, &p, &len, &fd, &err)) == 1) {
		if (fd != -1 && !proto_type_takes_fd(type))
			abort();
		if (fd != -1)
			close(fd);
		budget = ctl == 0 ? PROTO_BUDGET(len) : (size_t)ctl * len +
		    (size_t)ctl * 64;
		fuzz_unpack(type, p, len, budget);
	}
	if (r == -1) {
		if (err == PROTO_E_NONE)
			abort();
		return -1;
	}
	return 0;
}

/* libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_rx	 rx;
	uint8_t		 how, ctl;
	size_t		 off, piece, n, i;
	int		 fds[1], nfds, reads = 0;

	if (size < 2)
		return 0;
	how = data[0];
	ctl = data[1];
	data += 2;
	size -= 2;
	piece = how & 0x0f ? (size_t)1 << ((how & 0x0f) - 1) : size;
	if (piece == 0)
		piece = 1;
	ntracked = 0;

	proto_rx_init(&rx, how & 0x40 ? 64 : PROTO_MAX_FRAME);
	for (off = 0; off < size; off += n) {
		n = size - off < piece ? size - off : piece;
		nfds = 0;
		if ((how & 0x10) || ((how & 0x20) && reads % 4 == 0))
			fds[nfds++] = fuzz_fd();
		reads++;
		if (proto_rx_feed(&rx, data + off, n, fds, nfds) != 0)
			abort();
		if (fuzz_drain(&rx, ctl) != 0)
			break;
	}
	proto_rx_free(&rx);

	for (i = 0; i < ntracked; i++)
		if (fcntl(tracked[i], F_GETFD) != -1)
			abort();
	return 0;
}
