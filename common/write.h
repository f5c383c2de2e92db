/*
 * common/write.h: record writers.  All output is UTF-8.
 *
 *   marcjson  MARC-in-JSON, one record per line
 *   marcxml   MARCXML (MARC21 slim), one <collection>
 *   mrk       MARC line format as MarcEdit writes it (=LDR  ..., =245  10$a...)
 *   iso2709   ISO 2709, UTF-8, leader/09 'a', lengths recomputed
 *
 * Textual formats write the leader as read with leader/09 set to 'a'.
 */
#ifndef MARCD_WRITE_H
#define MARCD_WRITE_H

#include "buf.h"
#include "marcd/marc.h"

enum marc_format {
	MARC_FMT_MARCJSON = 0,
	MARC_FMT_MARCXML = 1,
	MARC_FMT_MRK = 2,
	MARC_FMT_ISO2709 = 3,
};

struct marc_writer {
	int		format;
	/*
	 * iso2709 only: keep tags, indicators, ASCII subfield codes and
	 * every byte of text as read (terminators too; text still decoded
	 * to UTF-8; a code byte over 0x7F normalised as always), so the
	 * record can be written again in any format with the same result
	 * (the daemon's arena copy, which has its own field table).  Off:
	 * such bytes become blanks or U+FFFD.
	 */
	int		transport;
	struct mbuf	scratch;	/* decoded text, reused */
	struct mbuf	rec;		/* one ISO 2709 record being built */
	struct mbuf	dir;		/* its directory */
};

/* Format by name ("marcjson", "json", "marcxml", "xml", "mrk", "iso2709", "marc"); -1 if unknown. */
int	marc_format_parse(const char *name);
/* Prepare a writer for a format. */
void	marc_writer_init(struct marc_writer *, int format);
/* Free its scratch buffers. */
void	marc_writer_free(struct marc_writer *);
/* Anything that goes before the first record (the XML prologue). */
int	marc_writer_begin(struct marc_writer *, struct mbuf *out);
/* Append one record; encoding problems go to errs.  -1 on ENOMEM. */
int	marc_writer_record(struct marc_writer *, struct mbuf *out,
	    const struct marc_record *rec, struct marc_errlist *errs);
/* Anything that goes after the last record (closing the XML collection). */
int	marc_writer_end(struct marc_writer *, struct mbuf *out);

#endif
