/*
 * common/decomp.h: streaming decompression of gzip, bzip2, xz and zstd, and
 * UTF-16 text (after a byte order mark) read as UTF-8.
 *
 * The format is told by its magic bytes, never by a file name.  A stream is
 * read in bounded pieces from a descriptor (through a fixed input buffer) or
 * from memory; concatenated gzip members, bzip2 streams, xz streams and zstd
 * frames are read one after the other.  Corrupt or truncated compressed data
 * ends the stream with an error; `out` then says where the good decompressed
 * data ended.  DECOMP_NONE passes the bytes through unchanged, so a caller
 * can read any input through one interface.
 *
 * UTF-16 is read as a compression is: its "decompressed" data is the text
 * transcoded to UTF-8 (common/utf16.c), so every reader of a stream reads
 * it; an unpaired surrogate is corrupt data, input that ends inside a code
 * unit or a surrogate pair truncated data.
 */
#ifndef MARCD_DECOMP_H
#define MARCD_DECOMP_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

enum decomp_kind {
	DECOMP_NONE = 0,
	DECOMP_GZIP = 1,	/* 1f 8b */
	DECOMP_BZIP2 = 2,	/* "BZh" */
	DECOMP_XZ = 3,		/* fd 37 7a 58 5a 00 */
	DECOMP_ZSTD = 4,	/* 28 b5 2f fd */
	DECOMP_UTF16LE = 5,	/* ff fe: UTF-16 text, little-endian */
	DECOMP_UTF16BE = 6,	/* fe ff: UTF-16 text, big-endian */
};

/* Why a stream ended badly (decomp.err). */
enum decomp_err {
	DECOMP_E_NONE = 0,
	DECOMP_E_CORRUPT = 1,	/* the compressed data is not valid */
	DECOMP_E_TRUNCATED = 2,	/* the input ends inside a member */
	DECOMP_E_IO = 3,	/* read(2) failed; errno in decomp.errnum */
	DECOMP_E_NOMEM = 4,
};

/* Bytes decomp_detect needs to tell every format apart. */
#define DECOMP_MAGIC_MAX	6

struct decomp_codec;

struct decomp {
	int			 kind;
	int			 fd;		/* -1 when reading memory */
	const uint8_t		*in_p;		/* unread input: [in_pos, in_len) */
	size_t			 in_pos;
	size_t			 in_len;
	uint8_t			*ibuf;		/* owned input buffer (fd) */
	int			 src_eof;	/* no input left to read */
	int			 in_member;	/* inside a member/stream/frame */
	int			 done;		/* ended cleanly */
	int			 err;		/* enum decomp_err, sticky */
	int			 errnum;	/* errno for DECOMP_E_IO */
	int			 pread;		/* read fd by pread(2) from `at` */
	uint64_t		 at;
	uint64_t		 in;		/* compressed bytes consumed */
	uint64_t		 out;		/* decompressed bytes handed out */
	struct decomp_codec	*codec;
};

/* Which format p[0..len) starts with; DECOMP_NONE for anything else. */
int		 decomp_detect(const void *p, size_t len);
/* "gzip", "bzip2", "xz", "zstd", "utf-16le", "utf-16be" or "none". */
const char	*decomp_name(int kind);
/*
 * Read fd from its current position; head[0..headlen) are bytes already
 * read from it (the magic that decomp_detect looked at).  -1 on ENOMEM.
 */
int		 decomp_open_fd(struct decomp *, int kind, int fd,
		    const void *head, size_t headlen);
/* Read fd from offset 0 with pread(2), in the same pieces as
 * decomp_open_fd from offset 0; the file offset is not used.  -1 ENOMEM. */
int		 decomp_open_pread(struct decomp *, int kind, int fd);
/* Read p[0..len), which must stay valid until decomp_close.  -1 on ENOMEM. */
int		 decomp_open_mem(struct decomp *, int kind, const void *p,
		    size_t len);
/*
 * Fill dst with up to cap decompressed bytes: returns how many (cap unless
 * the stream ends), 0 at a clean end, -1 once the stream is bad (d->err;
 * d->out is then the offset where the good data ended).  Bytes produced
 * before an error are returned first; the error comes on the next call.
 */
ssize_t		 decomp_read(struct decomp *, void *dst, size_t cap);
/* Free the codec and buffer (not the descriptor or memory). */
void		 decomp_close(struct decomp *);
/* A short English text for an enum decomp_err. */
const char	*decomp_strerror(int err);

#endif
