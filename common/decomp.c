/*
 * common/decomp.c: streaming decompression of gzip, bzip2, xz and zstd,
 * and UTF-16 transcoded to UTF-8 (common/utf16.c) through the same loop.
 *
 * One loop drives every codec: refill the input buffer when it is empty,
 * start a member when between members, and call the codec's step, which
 * moves bytes from the input to the caller's buffer and says when a member
 * ended.  A step that makes no progress once the input is exhausted means
 * the data was truncated.  Memory is the fixed input buffer plus the codec's
 * own state (its window, bounded by the format: xz is held to XZ_MEMLIMIT).
 */
#include "config.h"

#include <bzlib.h>
#include <errno.h>
#include <limits.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "decomp.h"
#include "utf16.h"

#define IBUF_SIZE	(128 * 1024)
#define XZ_MEMLIMIT	(256u << 20)
#define STEP_MAX	(1u << 30)	/* bzip2 and zlib count in unsigned int */

enum step_rc {
	STEP_OK = 0,		/* moved bytes, or needs more input */
	STEP_END = 1,		/* a member ended */
	STEP_CORRUPT = 2,
	STEP_NOMEM = 3,
	STEP_TRUNCATED = 4,	/* UTF-16 cut inside a unit or a pair */
};

struct decomp_codec {
	int		 started;
	z_stream	 z;
	bz_stream	 bz;
	lzma_stream	 xz;
	ZSTD_DStream	*zs;
	struct utf16	 u16;
};

/* Tell formats apart by the bytes they must start with. */
int
decomp_detect(const void *vp, size_t len)
{
	const uint8_t *p = vp;

	if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return DECOMP_GZIP;
	if (len >= 3 && memcmp(p, "BZh", 3) == 0)
		return DECOMP_BZIP2;
	if (len >= 6 && memcmp(p, "\xfd" "7zXZ\0", 6) == 0)
		return DECOMP_XZ;
	if (len >= 4 && memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0)
		return DECOMP_ZSTD;
	/* UTF-16 only with its byte order mark: nothing else starts so. */
	if (len >= 2 && p[0] == 0xff && p[1] == 0xfe)
		return DECOMP_UTF16LE;
	if (len >= 2 && p[0] == 0xfe && p[1] == 0xff)
		return DECOMP_UTF16BE;
	return DECOMP_NONE;
}

/* Names for messages and tests. */
const char *
decomp_name(int kind)
{
	switch (kind) {
	case DECOMP_GZIP:
		return "gzip";
	case DECOMP_BZIP2:
		return "bzip2";
	case DECOMP_XZ:
		return "xz";
	case DECOMP_ZSTD:
		return "zstd";
	case DECOMP_UTF16LE:
		return "utf-16le";
	case DECOMP_UTF16BE:
		return "utf-16be";
	}
	return "none";
}

/* Say what went wrong in words. */
const char *
decomp_strerror(int err)
{
	switch (err) {
	case DECOMP_E_CORRUPT:
		return "compressed data is corrupt";
	case DECOMP_E_TRUNCATED:
		return "compressed data is truncated";
	case DECOMP_E_IO:
		return "read error";
	case DECOMP_E_NOMEM:
		return "out of memory";
	}
	return "no error";
}

/* Common set-up of both sources. */
static int
decomp_init(struct decomp *d, int kind)
{
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->fd = -1;
	if (kind == DECOMP_NONE)
		return 0;
	if ((d->codec = calloc(1, sizeof(*d->codec))) == NULL)
		return -1;
	if (kind == DECOMP_ZSTD && (d->codec->zs = ZSTD_createDStream()) ==
	    NULL) {
		free(d->codec);
		d->codec = NULL;
		return -1;
	}
	return 0;
}

/* Stream from a descriptor through a fixed buffer. */
int
decomp_open_fd(struct decomp *d, int kind, int fd, const void *head,
    size_t headlen)
{
	if (decomp_init(d, kind) != 0)
		return -1;
	if ((d->ibuf = malloc(IBUF_SIZE)) == NULL) {
		decomp_close(d);
		return -1;
	}
	if (headlen > IBUF_SIZE)
		headlen = IBUF_SIZE;
	if (headlen)
		memcpy(d->ibuf, head, headlen);
	d->fd = fd;
	d->in_p = d->ibuf;
	d->in_len = headlen;
	return 0;
}

/* Stream from a descriptor from offset 0 by pread(2), in the pieces
 * read(2) gives from the start, leaving the file offset (which may be
 * shared with another process) alone. */
int
decomp_open_pread(struct decomp *d, int kind, int fd)
{
	if (decomp_open_fd(d, kind, fd, NULL, 0) != 0)
		return -1;
	d->pread = 1;
	return 0;
}

/* Stream from memory (a mapped file, a fuzzer's input). */
int
decomp_open_mem(struct decomp *d, int kind, const void *p, size_t len)
{
	if (decomp_init(d, kind) != 0)
		return -1;
	d->in_p = p;
	d->in_len = len;
	d->src_eof = 1;
	return 0;
}

/* Release what the codec holds for the member it is in. */
static void
codec_end_member(struct decomp *d)
{
	struct decomp_codec *c = d->codec;

	if (c == NULL || !c->started)
		return;
	switch (d->kind) {
	case DECOMP_BZIP2:
		BZ2_bzDecompressEnd(&c->bz);
		c->started = 0;
		break;
	}
}

/* Free everything but the source. */
void
decomp_close(struct decomp *d)
{
	struct decomp_codec *c = d->codec;

	if (c != NULL) {
		codec_end_member(d);
		if (c->started && d->kind == DECOMP_GZIP)
			inflateEnd(&c->z);
		if (c->started && d->kind == DECOMP_XZ)
			lzma_end(&c->xz);
		ZSTD_freeDStream(c->zs);
		free(c);
	}
	free(d->ibuf);
	d->codec = NULL;
	d->ibuf = NULL;
}

/* Get the next block of input once the buffer is used up. */
static int
decomp_refill(struct decomp *d)
{
	ssize_t n;

	for (;;) {
		n = d->pread ? pread(d->fd, d->ibuf, IBUF_SIZE, (off_t)d->at) :
		    read(d->fd, d->ibuf, IBUF_SIZE);
		if (n >= 0)
			break;
		if (errno != EINTR) {
			d->errnum = errno;
			return -1;
		}
	}
	d->in_p = d->ibuf;
	d->in_pos = 0;
	d->in_len = (size_t)n;
	d->at += (uint64_t)n;
	if (n == 0)
		d->src_eof = 1;
	return 0;
}

/* Start (or restart) the codec for the next member. */
static int
codec_begin_member(struct decomp *d)
{
	struct decomp_codec *c = d->codec;

	switch (d->kind) {
	case DECOMP_GZIP:
		if (c->started)
			return inflateReset(&c->z) == Z_OK ? 0 : -1;
		if (inflateInit2(&c->z, 15 + 16) != Z_OK)
			return -1;
		break;
	case DECOMP_BZIP2:
		memset(&c->bz, 0, sizeof(c->bz));
		if (BZ2_bzDecompressInit(&c->bz, 0, 0) != BZ_OK)
			return -1;
		break;
	case DECOMP_XZ:
		if (c->started)
			return -1;
		c->xz = (lzma_stream)LZMA_STREAM_INIT;
		if (lzma_stream_decoder(&c->xz, XZ_MEMLIMIT,
		    LZMA_CONCATENATED) != LZMA_OK)
			return -1;
		break;
	case DECOMP_ZSTD:
		if (ZSTD_isError(ZSTD_DCtx_reset(c->zs,
		    ZSTD_reset_session_only)))
			return -1;
		break;
	case DECOMP_UTF16LE:
	case DECOMP_UTF16BE:
		/* One "member": the whole text, ended by the input's end. */
		if (c->started)
			return -1;
		utf16_init(&c->u16, d->kind == DECOMP_UTF16BE);
		break;
	}
	c->started = 1;
	return 0;
}

/* One codec call: moves what it can from *in to *out, both advanced. */
static int
codec_step(struct decomp *d, const uint8_t **in, size_t *inl, uint8_t **out,
    size_t *outl, int finish)
{
	struct decomp_codec	*c = d->codec;
	size_t			 il = *inl < STEP_MAX ? *inl : STEP_MAX;
	size_t			 ol = *outl < STEP_MAX ? *outl : STEP_MAX;
	size_t			 ui, uo;
	int			 rc, st = STEP_OK;

	switch (d->kind) {
	case DECOMP_GZIP:
		c->z.next_in = (Bytef *)(uintptr_t)*in;
		c->z.avail_in = (uInt)il;
		c->z.next_out = *out;
		c->z.avail_out = (uInt)ol;
		rc = inflate(&c->z, Z_NO_FLUSH);
		ui = il - c->z.avail_in;
		uo = ol - c->z.avail_out;
		if (rc == Z_STREAM_END)
			st = STEP_END;
		else if (rc == Z_MEM_ERROR)
			st = STEP_NOMEM;
		else if (rc != Z_OK && rc != Z_BUF_ERROR)
			st = STEP_CORRUPT;
		break;
	case DECOMP_BZIP2:
		c->bz.next_in = (char *)(uintptr_t)*in;
		c->bz.avail_in = (unsigned)il;
		c->bz.next_out = (char *)*out;
		c->bz.avail_out = (unsigned)ol;
		rc = BZ2_bzDecompress(&c->bz);
		ui = il - c->bz.avail_in;
		uo = ol - c->bz.avail_out;
		if (rc == BZ_STREAM_END)
			st = STEP_END;
		else if (rc == BZ_MEM_ERROR)
			st = STEP_NOMEM;
		else if (rc != BZ_OK)
			st = STEP_CORRUPT;
		break;
	case DECOMP_XZ:
		c->xz.next_in = *in;
		c->xz.avail_in = il;
		c->xz.next_out = *out;
		c->xz.avail_out = ol;
		rc = lzma_code(&c->xz, finish ? LZMA_FINISH : LZMA_RUN);
		ui = il - c->xz.avail_in;
		uo = ol - c->xz.avail_out;
		if (rc == LZMA_STREAM_END)
			st = STEP_END;
		else if (rc == LZMA_MEM_ERROR)
			st = STEP_NOMEM;
		else if (rc != LZMA_OK && rc != LZMA_BUF_ERROR)
			st = STEP_CORRUPT;
		break;
	case DECOMP_UTF16LE:
	case DECOMP_UTF16BE: {
		const uint8_t	*ip = *in;
		uint8_t		*op = *out;

		rc = utf16_step(&c->u16, &ip, &il, &op, &ol, finish);
		ui = (size_t)(ip - *in);
		uo = (size_t)(op - *out);
		st = rc == UTF16_END ? STEP_END : rc == UTF16_CORRUPT ?
		    STEP_CORRUPT : rc == UTF16_TRUNCATED ? STEP_TRUNCATED :
		    STEP_OK;
		break;
	}
	default: {
		ZSTD_inBuffer	zi = { *in, il, 0 };
		ZSTD_outBuffer	zo = { *out, ol, 0 };
		size_t		zr;

		zr = ZSTD_decompressStream(c->zs, &zo, &zi);
		ui = zi.pos;
		uo = zo.pos;
		if (ZSTD_isError(zr))
			st = ZSTD_getErrorCode(zr) == ZSTD_error_memory_allocation ?
			    STEP_NOMEM : STEP_CORRUPT;
		else if (zr == 0)
			st = STEP_END;
		break;
	}
	}
	*in += ui;
	*inl -= ui;
	*out += uo;
	*outl -= uo;
	return st;
}

/* Mark the stream bad; what was produced stays good. */
static void
decomp_fail(struct decomp *d, int err)
{
	if (d->err == DECOMP_E_NONE)
		d->err = err;
}

/* Pass bytes through for uncompressed input. */
static ssize_t
decomp_copy(struct decomp *d, uint8_t *dst, size_t cap)
{
	size_t n, got = 0;

	while (got < cap) {
		if (d->in_pos == d->in_len) {
			if (d->src_eof)
				break;
			if (decomp_refill(d) != 0) {
				decomp_fail(d, DECOMP_E_IO);
				break;
			}
			continue;
		}
		n = d->in_len - d->in_pos;
		if (n > cap - got)
			n = cap - got;
		memcpy(dst + got, d->in_p + d->in_pos, n);
		d->in_pos += n;
		got += n;
	}
	d->in += got;
	d->out += got;
	if (got == 0 && d->err)
		return -1;
	return (ssize_t)got;
}

/* Fill dst from the stream: members one after another, errors sticky. */
ssize_t
decomp_read(struct decomp *d, void *vdst, size_t cap)
{
	uint8_t		*dst = vdst, *o = dst;
	const uint8_t	*i;
	size_t		 il, ol = cap, before, used;
	int		 finish, st;

	if (d->err)
		return -1;
	if (d->done || cap == 0)
		return 0;
	if (d->kind == DECOMP_NONE)
		return decomp_copy(d, dst, cap);
	while (ol > 0) {
		if (d->in_pos == d->in_len && !d->src_eof) {
			if (decomp_refill(d) != 0) {
				decomp_fail(d, DECOMP_E_IO);
				break;
			}
			continue;
		}
		finish = d->src_eof && d->in_pos == d->in_len;
		if (!d->in_member) {
			if (finish) {
				d->done = 1;
				break;
			}
			if (codec_begin_member(d) != 0) {
				decomp_fail(d, DECOMP_E_NOMEM);
				break;
			}
			d->in_member = 1;
		}
		i = d->in_p + d->in_pos;
		il = d->in_len - d->in_pos;
		before = ol;
		st = codec_step(d, &i, &il, &o, &ol, finish);
		used = (d->in_len - d->in_pos) - il;
		d->in += used;
		d->in_pos += used;
		if (st == STEP_END) {
			codec_end_member(d);
			d->in_member = 0;
			if (d->kind == DECOMP_XZ || d->kind == DECOMP_UTF16LE ||
			    d->kind == DECOMP_UTF16BE) {
				d->done = 1;
				break;
			}
			continue;
		}
		if (st != STEP_OK) {
			decomp_fail(d, st == STEP_NOMEM ? DECOMP_E_NOMEM :
			    st == STEP_TRUNCATED ? DECOMP_E_TRUNCATED :
			    DECOMP_E_CORRUPT);
			break;
		}
		/* No progress with all the input given: it was cut short. */
		if (finish && ol == before) {
			decomp_fail(d, DECOMP_E_TRUNCATED);
			break;
		}
		/* Input and room left, nothing moved: no codec does this
		 * with valid data, and looping on it would hang. */
		if (used == 0 && ol == before && il > 0) {
			decomp_fail(d, DECOMP_E_CORRUPT);
			break;
		}
	}
	d->out += (size_t)(o - dst);
	if (o == dst && d->err)
		return -1;
	return o - dst;
}
