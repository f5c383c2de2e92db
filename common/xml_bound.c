/*
 * common/xml_bound.c: where MARCXML records are, by their bytes, so that a
 * range of the input (a slice) can be read on its own.
 *
 * A MARC record starts at a start tag whose local name is `record` and whose
 * first child element is a leader, controlfield or datafield (an OAI-PMH
 * <record> holds a <header> first), or that is empty (<record/>).  It ends
 * at its end tag, or where the next record starts if that comes first.
 * The XML itself is checked by the parser (read_xml.c), record by record.
 */
#include "config.h"

#include <string.h>

#include "read_text.h"

/* Sixteen bytes at once (GCC and clang lower this to what the CPU has). */
typedef uint8_t xml_v16 __attribute__((vector_size(16)));

/*
 * The next "record" in p..end, or NULL: what the boundary scan looks for
 * in every record, so sixteen positions are tried at once for an `r` with
 * a `d` five bytes on (memmem was a sixth of the whole reading here).
 */
static const uint8_t *
xml_memrecord(const uint8_t *p, const uint8_t *end)
{
	xml_v16		a, b, m, r = { 0 }, d = { 0 };
	uint64_t	w[2];
	int		i;

	r += 'r';
	d += 'd';
	while (end - p >= 5 + 16) {
		memcpy(&a, p, sizeof a);
		memcpy(&b, p + 5, sizeof b);
		m = (xml_v16)((a == r) & (b == d));
		memcpy(w, &m, sizeof w);
		if ((w[0] | w[1]) != 0)
			for (i = 0; i < 16; i++)
				if (p[i] == 'r' && memcmp(p + i, "record", 6) == 0)
					return p + i;
		p += 16;
	}
	return end - p >= 6 ? memmem(p, (size_t)(end - p), "record", 6) : NULL;
}

/* A name character for the start-tag check (ASCII is all MARCXML uses). */
static inline int
xml_namec(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c >= 0x80;
}

/*
 * If p starts a start tag named [prefix:]record, the length of its name;
 * else 0.
 */
static size_t
xml_record_tag(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *q = p + 1, *l;

	l = q;
	while (q < end && xml_namec(*q))
		q++;
	if (q < end && *q == ':' && q > l)
		l = ++q;
	if (end - l < 7 || memcmp(l, "record", 6) != 0 ||
	    !(text_is_space(l[6]) || l[6] == '>' || l[6] == '/'))
		return 0;
	return (size_t)(l + 6 - (p + 1));
}

/* The end of the start tag at p (past `>`), and whether it is empty. */
static const uint8_t *
xml_tag_end(const uint8_t *p, const uint8_t *end, int *empty)
{
	const uint8_t	*q;
	uint8_t		 quote = 0;

	for (q = p + 1; q < end; q++) {
		if (quote) {
			if (*q == quote)
				quote = 0;
		} else if (*q == '"' || *q == '\'')
			quote = *q;
		else if (*q == '>') {
			*empty = q[-1] == '/';
			return q + 1;
		} else if (*q == '<')
			break;
	}
	return NULL;
}

/* Does p..end hold the start tag of an element whose local name is n? */
static const uint8_t *
xml_find_start(const uint8_t *p, const uint8_t *end, const char *n)
{
	size_t		 nl = strlen(n);
	const uint8_t	*q, *l;

	for (q = p; (q = memmem(q, (size_t)(end - q), n, nl)) != NULL;
	    q += nl) {
		if (q == p || (size_t)(end - q) <= nl ||
		    !(text_is_space(q[nl]) || q[nl] == '>' || q[nl] == '/'))
			continue;
		if (q[-1] == '<')
			return q - 1;
		if (q[-1] != ':')
			continue;
		for (l = q - 1; l > p && (xml_namec(l[-1]) || l[-1] == '.'); l--)
			;
		if (l > p && l < q - 1 && l[-1] == '<')
			return l - 1;
	}
	return NULL;
}

/*
 * One pass over the "record"s after the start tag named n bytes at p that
 * ends at te: the element's end tag (returned: past it), or, when another
 * `record` start tag comes first, NULL and that tag in *inner; NULL and no
 * *inner when there is neither before end.
 */
static const uint8_t *
xml_scan(const uint8_t *p, size_t n, const uint8_t *te, const uint8_t *end,
    const uint8_t **inner)
{
	const uint8_t	*h, *q, *l;

	*inner = NULL;
	for (h = te; (h = xml_memrecord(h, end)) != NULL; h += 6) {
		/* The end tag: "</", the start tag's name, blanks, ">". */
		if ((size_t)(h - te) >= n - 4 && (q = h + 4 - n)[0] == '<' &&
		    q[1] == '/' &&
		    (size_t)(end - q) >= n + 3 && memcmp(q + 2, p + 1, n) == 0) {
			for (q += 2 + n; q < end && text_is_space(*q); q++)
				;
			if (q < end && *q == '>')
				return q + 1;
		}
		/* A start tag of an element named [prefix:]record. */
		if (h == te || end - h <= 6 || !(text_is_space(h[6]) ||
		    h[6] == '>' || h[6] == '/'))
			continue;
		if (h[-1] == '<') {
			*inner = h - 1;
			return NULL;
		}
		if (h[-1] != ':')
			continue;
		for (l = h - 1; l > te && (xml_namec(l[-1]) || l[-1] == '.'); l--)
			;
		if (l > te && l < h - 1 && l[-1] == '<') {
			*inner = l - 1;
			return NULL;
		}
	}
	return NULL;
}

/*
 * Is the `record` element starting at p a MARC record: empty, or holding a
 * leader, controlfield or datafield and no other `record` (an OAI-PMH or
 * SRU <record> holds the MARC one)?  *rend is where it ends, past its end
 * tag, when that is known from the scan, else NULL.
 */
static int
xml_is_marc(const uint8_t *p, size_t n, const uint8_t *te, int empty,
    const uint8_t *end, const uint8_t **rend)
{
	const uint8_t	*e, *q;

	*rend = NULL;
	if (empty) {
		*rend = te;
		return 1;
	}
	if ((e = xml_scan(p, n, te, end, &q)) == NULL)
		e = q != NULL ? q : end;
	else
		*rend = e;
	if (memchr(te, '<', (size_t)(e - te)) == NULL)
		return q == NULL;
	return xml_find_start(te, e, "leader") != NULL ||
	    xml_find_start(te, e, "controlfield") != NULL ||
	    xml_find_start(te, e, "datafield") != NULL;
}

/*
 * Offset of the next MARC record's start tag at or after pos, and where
 * that record ends when its end tag is found with no other tag starting in
 * its start tag (*rend; else 0): no boundary can lie inside it then.
 */
size_t
xml_boundary_end(const uint8_t *buf, size_t len, size_t pos, size_t *rend)
{
	const uint8_t	*p, *end = buf + len, *te, *re;
	size_t		 n;
	int		 empty;

	*rend = 0;
	while (pos < len) {
		p = memchr(buf + pos, '<', len - pos);
		if (p == NULL)
			return len;
		pos = (size_t)(p - buf) + 1;
		if ((n = xml_record_tag(p, end)) == 0 ||
		    (te = xml_tag_end(p, end, &empty)) == NULL)
			continue;
		if (xml_is_marc(p, n, te, empty, end, &re)) {
			if (re != NULL && memchr(p + 1, '<',
			    (size_t)(te - p - 1)) == NULL)
				*rend = (size_t)(re - buf);
			return (size_t)(p - buf);
		}
	}
	return len;
}

/* Offset of the next MARC record's start tag at or after pos. */
size_t
xml_boundary(const uint8_t *buf, size_t len, size_t pos)
{
	size_t rend;

	return xml_boundary_end(buf, len, pos, &rend);
}

/*
 * The end of the element whose start tag named n bytes at p ends at te:
 * past its end tag, or NULL when there is none before end.
 */
static const uint8_t *
xml_find_end(const uint8_t *p, size_t n, const uint8_t *te, const uint8_t *end)
{
	const uint8_t *q, *r;

	/* q stays on the "</" found, so the next search starts inside the
	 * input whatever the name check read past it. */
	for (q = te; (q = memmem(q, (size_t)(end - q), "</", 2)) != NULL;
	    q += 2) {
		if ((size_t)(end - q) < n + 3 || memcmp(q + 2, p + 1, n) != 0)
			continue;
		for (r = q + 2 + n; r < end && text_is_space(*r); r++)
			;
		if (r < end && *r == '>')
			return r + 1;
	}
	return NULL;
}

/* Where the record starting at s ends: past its end tag, or at next. */
size_t
xml_record_end(const uint8_t *buf, size_t s, size_t next)
{
	const uint8_t	*p = buf + s, *end = buf + next, *te, *e;
	size_t		 n = xml_record_tag(p, end);
	int		 empty = 0;

	if (n == 0 || (te = xml_tag_end(p, end, &empty)) == NULL)
		return next;
	if (empty)
		return (size_t)(te - buf);
	e = xml_find_end(p, n, te, end);
	return e ? (size_t)(e - buf) : next;
}
