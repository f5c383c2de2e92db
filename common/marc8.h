/*
 * common/marc8.h: MARC-8 to UTF-8 conversion, table-driven.
 *
 * Every set of the Library of Congress code tables (Basic and Extended Latin,
 * Greek, Cyrillic, Hebrew, Arabic, subscripts, superscripts, Greek symbols,
 * EACC) with G0/G1 escape sequences.  Combining marks, which MARC-8 puts
 * before their base character, are moved after it, and the output is
 * NFC-composed as pymarc does.
 */
#ifndef MARCD_MARC8_H
#define MARCD_MARC8_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* A problem inside one converted run. */
struct marc8_err {
	uint32_t	code;	/* MARC_E_MARC8_ESCAPE or MARC_E_MARC8_CHAR */
	uint32_t	pos;	/* byte index in the input run */
};

/*
 * Convert in[0..n) from MARC-8, starting in the default state (G0 = Basic
 * Latin, G1 = Extended Latin), appending NFC UTF-8 to out.  Bytes that map to
 * nothing and bad escape sequences become U+FFFD and are reported: the first
 * errmax of them in errs.  Returns the number of problems, or -1 when out of
 * memory.  Pure ASCII input without ESC is copied as is.
 */
int	marc8_to_utf8(struct mbuf *out, const uint8_t *in, size_t n,
	    struct marc8_err *errs, int errmax);

/*
 * Flags of marc8_to_utf8_flags.  MARC8_HALF_MARKS: the halves of the
 * ligature and the double tilde (Extended Latin EB/EC, FA/FB) become the
 * half marks U+FE20/U+FE21, U+FE22/U+FE23 (the tables' alt mapping, which
 * pymarc uses) instead of the whole mark U+0361 / U+0360 for the left half
 * and nothing for the right (the ucs mapping, MARC::Charset's).
 */
#define MARC8_HALF_MARKS	0x1
/* marc8_to_utf8 with flags (0 is marc8_to_utf8). */
int	marc8_to_utf8_flags(struct mbuf *out, const uint8_t *in, size_t n,
	    struct marc8_err *errs, int errmax, int flags);

/*
 * Convert UTF-8 in[0..n) to MARC-8, appending to out, from and back to the
 * default state (G0 Basic Latin, G1 Extended Latin): decomposed (NFD) with
 * combining marks before their base, escapes only where the set changes.  A
 * character with no MARC-8 encoding (invalid UTF-8 counts as U+FFFD) is
 * written as &#xXXXX;.  Returns how many were, or -1 when out of memory.
 */
int	marc8_from_utf8(struct mbuf *out, const uint8_t *in, size_t n);
/*
 * One record as the iso2709 writer wrote it, in MARC-8 with leader/09
 * blank and lengths recomputed (dir is scratch).  Returns the number of
 * characters written as &#xXXXX;, -1 on ENOMEM.
 */
int	marc8_iso2709_from_utf8(struct mbuf *out, struct mbuf *dir,
	    const uint8_t *rec, size_t len);
/* The same for one record as the mrk writer wrote it (each subfield). */
int	marc8_mrk_from_utf8(struct mbuf *out, const uint8_t *text, size_t len);

#endif
