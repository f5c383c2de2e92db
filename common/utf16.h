/*
 * common/utf16.h: UTF-16 (LE or BE, after a byte order mark) to UTF-8, as
 * a stream, for common/decomp.c, which reads it as it reads a compression.
 *
 * The byte order mark is dropped.  An XML declaration at the start of the
 * output whose encoding is UTF-16 is made to say UTF-8 in as many bytes
 * (encoding="UTF-16" becomes encoding="UTF-8" with a space after the
 * quote), so offsets stay those of the transcoded stream and the XML
 * reader reads it as what it now is.  An unpaired surrogate, or input that
 * ends inside a code unit or a surrogate pair, becomes U+FFFD and ends the
 * stream with an error.
 */
#ifndef MARCD_UTF16_H
#define MARCD_UTF16_H

#include <stddef.h>
#include <stdint.h>

/* Output held back: the XML declaration, or a character cut by a full
 * output buffer. */
#define UTF16_STASH	256

enum utf16_rc {
	UTF16_OK = 0,		/* moved bytes, or needs more input */
	UTF16_END = 1,		/* the input ended and all is handed out */
	UTF16_CORRUPT = 2,	/* an unpaired surrogate */
	UTF16_TRUNCATED = 3,	/* the input ends inside a unit or pair */
};

struct utf16 {
	int		 be;
	int		 skip;		/* bytes of the BOM still to drop */
	int		 head;		/* collecting the XML declaration */
	int		 bad;		/* enum utf16_rc once it went wrong */
	int		 has_odd;	/* a unit's first byte came alone */
	uint8_t		 odd;
	uint16_t	 hi;		/* a high surrogate waiting, or 0 */
	size_t		 slen;		/* stash[spos, slen) not handed out */
	size_t		 spos;
	uint8_t		 stash[UTF16_STASH];
};

/* Start a stream; be: big-endian. */
void	utf16_init(struct utf16 *, int be);
/*
 * Move what can be moved from *in to *out (both advanced); finish: no
 * input will come after *in.  Returns enum utf16_rc; an error comes once
 * the output before it (its U+FFFD too) is handed out.
 */
int	utf16_step(struct utf16 *, const uint8_t **in, size_t *inl,
	    uint8_t **out, size_t *outl, int finish);

#endif
