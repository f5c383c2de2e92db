/*
 * common/text.h: UTF-8 validation and decoding of record data to UTF-8.
 */
#ifndef MARCD_TEXT_H
#define MARCD_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "marcd/marc.h"

/* Length of the longest valid UTF-8 prefix of p[0..n) (n when all valid). */
size_t	utf8_valid_len(const uint8_t *p, size_t n);

/*
 * Append p[0..n) to out with each invalid UTF-8 sequence replaced by U+FFFD.
 * Returns the number of replacements (the first at *first_bad), -1 on ENOMEM.
 */
int	utf8_sanitize(struct mbuf *out, const uint8_t *p, size_t n,
	    size_t *first_bad);

/* UTF-8 text: either the input bytes themselves or bytes in a scratch buffer. */
struct marc_text {
	const uint8_t	*p;
	size_t		 len;
};

/*
 * Decode p[0..n), which lies inside rec's data, to valid UTF-8 by the
 * record's charset.  Valid UTF-8 input is returned without a copy; else the
 * result is appended to scratch (the caller resets scratch->len when it no
 * longer needs earlier results).  Problems go to errs with offsets in the
 * whole input.  Returns 0, or -1 when out of memory.
 */
int	marc_text_decode(const struct marc_record *rec, const uint8_t *p,
	    size_t n, struct mbuf *scratch, struct marc_text *out,
	    struct marc_errlist *errs);

/*
 * pymarc's code for a subfield whose code byte p[0] is not ASCII (n >= 1
 * bytes from the code to the subfield's end): *code is the first character
 * (UTF-8, else Latin-1) reduced to its ASCII letter by NFKD, or the first
 * later one that has one (a blank if none).  Returns the bytes the code
 * takes (its character's length); the data follows.
 */
size_t	marc_code_normalize(const uint8_t *p, size_t n, uint8_t *code);

/*
 * A subfield with a code byte over 0x7F: give it the normalised code, its
 * data from after the code's character, and errs a bad-subfield-code at the
 * code's offset.  Subfields with ASCII codes are left as they are.
 */
void	marc_subfield_fix_code(const struct marc_record *rec,
	    struct marc_subfield *sf, struct marc_errlist *errs);

/*
 * Validate the encoding of every field and subfield of rec as the writers
 * would decode it; problems go to errs.  Returns 0, or -1 on ENOMEM.
 */
int	marc_record_check_text(const struct marc_record *rec,
	    struct mbuf *scratch, struct marc_errlist *errs);

#endif
