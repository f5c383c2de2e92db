/*
 * common/read_text.h: what the text format readers share with format.c.
 * Each reader works on fr->r (buf, len = end of range, pos, recno,
 * errors) and lays records out with fr->b.
 */
#ifndef MARCD_READ_TEXT_H
#define MARCD_READ_TEXT_H

#include "format.h"

/* Skippable white space between records in every text format. */
static inline int
text_is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * A one-byte position (indicator, subfield code) from text: blank when
 * empty, and when it is not one ASCII character (ISO 2709 has one byte
 * there), which *bad says.  U+FFFD, what writers show for a byte that was
 * not text, becomes such a byte again, without a problem.
 */
static inline uint8_t
text_char(const uint8_t *s, size_t n, int *bad)
{
	if (n == 3 && s[0] == 0xEF && s[1] == 0xBF && s[2] == 0xBD) {
		*bad = 0;
		return 0xFF;
	}
	*bad = n != 1 || s[0] >= 0x80;
	return n == 0 || s[0] >= 0x80 ? ' ' : s[0];
}

/* Tags 00X hold control fields, the others data fields. */
static inline int
text_control_tag(const uint8_t *t, size_t n)
{
	return n == 3 && t[0] == '0' && t[1] == '0';
}

/* Record an error of the item being read. */
static inline void
text_error(struct marc_freader *fr, uint32_t code, uint32_t recno, size_t at)
{
	marc_errlist_add(&fr->r.errors, code, recno, at);
}

/*
 * Where the next record of a text range lies: past a BOM at the input's
 * start and what `between` skips, from one boundary to the next (those of
 * the whole input, wherever the range ends).  MARC_NEXT_END at the end of
 * the range; MARC_NEXT_SKIPPED for text before a boundary, reported as
 * `code`; else MARC_NEXT_RECORD, with [*s, *e) the record's bytes, the reader past them
 * and its record number taken.
 */
int	text_next_span(struct marc_freader *, struct marc_record *,
	    int (*between)(uint8_t),
	    size_t (*boundary)(const uint8_t *, size_t, size_t),
	    uint32_t code, size_t *s, size_t *e);

size_t	mrk_boundary(const uint8_t *, size_t, size_t);
int	mrk_next(struct marc_freader *, struct marc_record *);

size_t	json_boundary(const uint8_t *, size_t, size_t);
int	json_open(struct marc_freader *);
int	json_next(struct marc_freader *, struct marc_record *);
void	json_close(struct marc_freader *);

size_t	xml_boundary(const uint8_t *, size_t, size_t);
size_t	xml_boundary_end(const uint8_t *, size_t, size_t, size_t *);
size_t	xml_record_end(const uint8_t *, size_t, size_t);
int	xml_open(struct marc_freader *);
int	xml_next(struct marc_freader *, struct marc_record *);
void	xml_close(struct marc_freader *);

#endif
