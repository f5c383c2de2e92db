/*
 * common/write_marc8.c: a UTF-8 ISO 2709 or .mrk record rewritten in MARC-8
 * (leader/09 blank), for systems that load only MARC-8.
 *
 * The writers produce UTF-8; this takes one record as they wrote it and
 * converts the text of each subfield (and each control field) on its own
 * with marc8_from_utf8, so every subfield starts and ends in the default
 * sets, as MARC-8 readers that decode subfield by subfield expect.
 */
#include "config.h"

#include <string.h>

#include "marc8.h"
#include "marcd/marc.h"
#include "write.h"

/* Text split at a delimiter, each piece converted on its own. */
static int
m8_pieces(struct mbuf *out, const uint8_t *p, size_t n, uint8_t delim,
    int *unmapped)
{
	const uint8_t	*q;
	size_t		 k;
	int		 rc;

	for (;;) {
		q = memchr(p, delim, n);
		k = q ? (size_t)(q - p) : n;
		if ((rc = marc8_from_utf8(out, p, k)) < 0)
			return -1;
		*unmapped += rc;
		if (q == NULL)
			return 0;
		/* The delimiter and the subfield code stay as they are. */
		if (mbuf_addc(out, delim) != 0)
			return -1;
		p = q + 1;
		n -= k + 1;
		if (n > 0) {
			if (mbuf_addc(out, *p) != 0)
				return -1;
			p++;
			n--;
		}
	}
}

/*
 * rec[0..len) is one record as the iso2709 writer wrote it (fields in
 * directory order, each ended by 0x1E, no terminator inside text).
 * Returns the number of characters written as &#xXXXX;, -1 on ENOMEM.
 */
int
marc8_iso2709_from_utf8(struct mbuf *out, struct mbuf *dir,
    const uint8_t *rec, size_t len)
{
	const uint8_t	*d, *data, *end, *ft;
	size_t		 start = out->len, nent, i, base, fstart, pos;
	int		 unmapped = 0, k;

	if (len < MARC_LEADER_LEN + 2)
		return mbuf_add(out, rec, len);
	d = memchr(rec + MARC_LEADER_LEN, MARC_FT, len - MARC_LEADER_LEN);
	if (d == NULL)
		return mbuf_add(out, rec, len);
	nent = (size_t)(d - rec - MARC_LEADER_LEN) / MARC_DIRENT_LEN;
	data = d + 1;
	end = rec + len - (rec[len - 1] == MARC_RT);
	base = MARC_LEADER_LEN + nent * MARC_DIRENT_LEN + 1;
	dir->len = 0;
	if (mbuf_reserve(out, base) != 0)
		return -1;
	out->len += base;
	for (i = 0; i < nent && data < end; i++) {
		const uint8_t *ent = rec + MARC_LEADER_LEN + i * MARC_DIRENT_LEN;

		ft = memchr(data, MARC_FT, (size_t)(end - data));
		if (ft == NULL)
			ft = end;
		fstart = out->len - start - base;
		if (ent[0] == '0' && ent[1] == '0') {
			if ((k = marc8_from_utf8(out, data,
			    (size_t)(ft - data))) < 0)
				return -1;
			unmapped += k;
		} else {
			size_t ni = ft - data < 2 ? (size_t)(ft - data) : 2;

			if (mbuf_add(out, data, ni) != 0 ||
			    m8_pieces(out, data + ni, (size_t)(ft - data) - ni,
			    MARC_SD, &unmapped) != 0)
				return -1;
		}
		if (mbuf_addc(out, MARC_FT) != 0 || mbuf_reserve(dir, 12) != 0)
			return -1;
		memcpy(dir->p + dir->len, ent, 3);
		buf_digits(dir->p + dir->len + 3, out->len - start - base -
		    fstart, 4);
		buf_digits(dir->p + dir->len + 7, fstart, 5);
		dir->len += 12;
		data = ft + 1;
	}
	if (mbuf_addc(out, MARC_RT) != 0)
		return -1;
	/* Fewer fields than entries: close the gap in the directory. */
	pos = MARC_LEADER_LEN + dir->len;
	memcpy(out->p + start, rec, MARC_LEADER_LEN);
	memcpy(out->p + start + MARC_LEADER_LEN, dir->p, dir->len);
	if (pos + 1 < base)
		memmove(out->p + start + pos + 1, out->p + start + base,
		    out->len - start - base);
	out->len -= base - (pos + 1);
	out->p[start + pos] = MARC_FT;
	buf_digits(out->p + start, out->len - start, 5);
	out->p[start + 9] = ' ';
	buf_digits(out->p + start + 12, pos + 1, 5);
	return unmapped;
}

/*
 * text[0..len) is one record as the mrk writer wrote it: lines of
 * "=TAG  " and the field, subfields led by '$'.  Returns the number of
 * characters written as &#xXXXX;, -1 on ENOMEM.
 */
int
marc8_mrk_from_utf8(struct mbuf *out, const uint8_t *text, size_t len)
{
	const uint8_t	*p = text, *end = text + len, *nl;
	size_t		 ll;
	int		 unmapped = 0;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (ll >= 6 && memcmp(p, "=LDR  ", 6) == 0) {
			if (mbuf_add(out, p, ll) != 0)
				return -1;
			if (ll >= 6 + 10)
				out->p[out->len - ll + 6 + 9] = '\\';
		} else if (ll >= 6 && p[0] == '=') {
			if (mbuf_add(out, p, 6) != 0 || m8_pieces(out, p + 6,
			    ll - 6, '$', &unmapped) != 0)
				return -1;
		} else if (mbuf_add(out, p, ll) != 0)
			return -1;
		if (nl && mbuf_addc(out, '\n') != 0)
			return -1;
		p += ll + (nl != NULL);
	}
	return unmapped;
}
