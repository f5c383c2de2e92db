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

#endif
