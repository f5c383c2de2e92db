/*
 * common/read_xml.c: MARCXML (MARC 21 slim), in a <collection>, as bare
 * <record>s, or wrapped in other XML (OAI-PMH ListRecords, SRU), with or
 * without a namespace prefix.  XML is parsed with expat.
 *
 * A MARC record starts at a start tag whose local name is `record` and whose
 * first child element is a leader, controlfield or datafield (an OAI-PMH
 * <record> holds a <header> first), or that is empty (<record/>).  It ends
 * at its end tag, or where the next record starts if that comes first.
 * Only records are given to the parser; the envelope between them is
 * skipped, so a range of the input (a slice) can be read on its own:
 *
 *   - the head of the document, up to its first record, is parsed once per
 *     range for its encoding and the namespace prefixes it declares;
 *   - one expat parser per range is fed a wrapper element declaring those
 *     prefixes, then each record of the range, one after another, as the
 *     wrapper's children;
 *   - a record that is not well-formed is reported (bad-xml) and the parser
 *     is reset (wrapper again) for the next one.
 *
 * Elements are known by local name; the namespace of the record is not
 * checked, so MARCXML without a namespace reads too.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "read_text.h"

#define XML_NSSEP	' '
#define XML_MAX_NS	64
#define XML_SLIM	"http://www.loc.gov/MARC21/slim"

/* What the character data in hand belongs to. */
enum xml_text {
	X_NONE,
	X_LEADER,
	X_FIELD,	/* controlfield or subfield data */
};

struct marc_xml {
	XML_Parser		 p;
	struct marc_freader	*fr;
	struct mbuf		 wrap;		/* the wrapper's start tag */
	char			 enc[40];	/* from the XML declaration */
	int			 have_enc;
	/* The head, while it is parsed. */
	uint32_t		 nns;
	struct mbuf		 ns;		/* prefix\0uri\0 ... */
	/* The record being read. */
	uint64_t		 fed;		/* bytes given to the parser */
	size_t			 piece;		/* input offset of the piece */
	uint32_t		 recno;
	int			 depth;		/* 1 = the record element */
	int			 text;		/* enum xml_text */
	int			 closed;	/* the record element ended */
	int			 shape;		/* a shape error was reported */
	int			 datafield;	/* depth 2 element is a datafield */
	uint32_t		 nsub;		/* its subfields */
	long long		 head_bad;	/* offset of an error in the head */
	size_t			 head;		/* the head's length */
	size_t			 dt_start;	/* its DOCTYPE, if any */
	size_t			 dt_end;
	XML_Parser		 hp;		/* the head's parser */
	int			 trailer_done;
	int			 head_ok;	/* the head is well-formed */
	int			 head_depth;	/* elements open at its end */
	size_t			 cache_from;	/* xml_boundary(cache_from) is */
	size_t			 cache_at;	/* cache_at */
};

/* The local part of an element or attribute name from expat. */
static const char *
xml_local(const char *name)
{
	const char *sp = strrchr(name, XML_NSSEP);

	return sp ? sp + 1 : name;
}

/* An attribute's value by local name, or NULL. */
static const char *
xml_attr(const char **atts, const char *name)
{
	for (; atts[0] != NULL; atts += 2)
		if (strcmp(xml_local(atts[0]), name) == 0)
			return atts[1];
	return NULL;
}

/* Offset in the input of the event being handled. */
static size_t
xml_here(const struct marc_xml *x)
{
	XML_Index i = XML_GetCurrentByteIndex(x->p);

	if (i < 0 || (uint64_t)i < x->fed)
		return x->piece;
	return x->piece + (size_t)((uint64_t)i - x->fed);
}

/* One error per record for what MARCXML does not allow. */
static void
xml_shape(struct marc_xml *x)
{
	if (x->shape)
		return;
	x->shape = 1;
	text_error(x->fr, MARC_E_BAD_XML, x->recno, xml_here(x));
}

/* One character attribute (indicator, code): blank when missing. */
static uint8_t
xml_char(struct marc_xml *x, const char *v)
{
	int	bad;
	uint8_t	c = text_char((const uint8_t *)(v ? v : ""), v ? strlen(v) : 0,
		    &bad);

	if (bad)
		xml_shape(x);
	return c;
}

/* A tag attribute: three characters. */
static int
xml_tag(struct marc_xml *x, const char **atts, int data)
{
	const char	*t = xml_attr(atts, "tag");
	size_t		 n = t ? strlen(t) : 0;

	/* The element must say what the tag says: 00X is a control field. */
	if (n != 3 || text_control_tag((const uint8_t *)t, n) == data)
		xml_shape(x);
	if (data)
		return marc_build_datafield(&x->fr->b, (const uint8_t *)t, n);
	return marc_build_field(&x->fr->b, (const uint8_t *)t, n);
}

/* Elements of a record: leader, controlfield, datafield, subfield. */
static void XMLCALL
xml_start(void *ctx, const char *name, const char **atts)
{
	struct marc_xml		*x = ctx;
	struct marc_build	*b = &x->fr->b;
	const char		*l = xml_local(name);
	int			 rc = 0;

	x->depth++;
	x->text = X_NONE;
	if (x->depth == 1) {
		/* MARC 21 slim is the namespace; records without one are
		 * read, and said to be out of it. */
		if (strcmp(l, "record") != 0 ||
		    strncmp(name, XML_SLIM " ", sizeof XML_SLIM) != 0)
			xml_shape(x);
		return;
	}
	if (x->depth == 2) {
		x->datafield = 0;
		if (strcmp(l, "leader") == 0) {
			x->fr->tmp.len = 0;
			x->text = X_LEADER;
		} else if (strcmp(l, "controlfield") == 0) {
			rc = xml_tag(x, atts, 0);
			x->text = X_FIELD;
		} else if (strcmp(l, "datafield") == 0) {
			rc = xml_tag(x, atts, 1);
			marc_build_ind(b, 0, xml_char(x, xml_attr(atts, "ind1")));
			marc_build_ind(b, 1, xml_char(x, xml_attr(atts, "ind2")));
			x->datafield = 1;
			x->nsub = 0;
		} else
			xml_shape(x);
	} else if (x->depth == 3 && x->datafield &&
	    strcmp(l, "subfield") == 0) {
		rc = marc_build_subfield(b, xml_char(x, xml_attr(atts, "code")));
		x->text = X_FIELD;
		x->nsub++;
	} else
		xml_shape(x);
	if (rc != 0)
		XML_StopParser(x->p, XML_FALSE);
}

/* Close what the element opened. */
static void XMLCALL
xml_end(void *ctx, const char *name)
{
	struct marc_xml		*x = ctx;
	struct marc_build	*b = &x->fr->b;

	if (x->depth == 2) {
		if (x->text == X_LEADER) {
			if (b->have_leader ||
			    marc_build_leader(b, x->fr->tmp.p, x->fr->tmp.len))
				xml_shape(x);
		} else {
			if (x->datafield && x->nsub == 0)
				xml_shape(x);
			if (b->open && marc_build_end_field(b) != 0)
				XML_StopParser(x->p, XML_FALSE);
		}
	} else if (x->depth == 1)
		x->closed = 1;
	x->text = X_NONE;
	x->depth--;
}

/* Text of the leader and of fields; other text is layout. */
static void XMLCALL
xml_chars(void *ctx, const char *s, int n)
{
	struct marc_xml	*x = ctx;
	int		 r;

	if (x->text == X_LEADER) {
		if (mbuf_add(&x->fr->tmp, s, (size_t)n) != 0)
			XML_StopParser(x->p, XML_FALSE);
	} else if (x->text == X_FIELD) {
		if ((r = marc_build_text(&x->fr->b, (const uint8_t *)s,
		    (size_t)n)) < 0)
			XML_StopParser(x->p, XML_FALSE);
		else if (r > 0)
			xml_shape(x);
	}
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
 * The end of the element whose start tag named n bytes at p ends at te:
 * past its end tag, or NULL when there is none before end.
 */
static const uint8_t *
xml_find_end(const uint8_t *p, size_t n, const uint8_t *te, const uint8_t *end)
{
	const uint8_t *q;

	for (q = te; (q = memmem(q, (size_t)(end - q), "</", 2)) != NULL;
	    q += 2) {
		if ((size_t)(end - q) < n + 3 || memcmp(q + 2, p + 1, n) != 0)
			continue;
		for (q += 2 + n; q < end && text_is_space(*q); q++)
			;
		if (q < end && *q == '>')
			return q + 1;
	}
	return NULL;
}

/*
 * Is the `record` element starting at p a MARC record: empty, or holding a
 * leader, controlfield or datafield and no other `record` (an OAI-PMH or
 * SRU <record> holds the MARC one)?
 */
static int
xml_is_marc(const uint8_t *p, size_t n, const uint8_t *te, int empty,
    const uint8_t *end)
{
	const uint8_t	*e, *q;

	if (empty)
		return 1;
	if ((e = xml_find_end(p, n, te, end)) == NULL)
		e = end;
	if ((q = xml_find_start(te, e, "record")) != NULL)
		e = q;
	if (memchr(te, '<', (size_t)(e - te)) == NULL)
		return q == NULL;
	return xml_find_start(te, e, "leader") != NULL ||
	    xml_find_start(te, e, "controlfield") != NULL ||
	    xml_find_start(te, e, "datafield") != NULL;
}

/* Offset of the next MARC record's start tag at or after pos. */
size_t
xml_boundary(const uint8_t *buf, size_t len, size_t pos)
{
	const uint8_t	*p, *end = buf + len, *te;
	size_t		 n;
	int		 empty;

	while (pos < len) {
		p = memchr(buf + pos, '<', len - pos);
		if (p == NULL)
			return len;
		pos = (size_t)(p - buf) + 1;
		if ((n = xml_record_tag(p, end)) == 0 ||
		    (te = xml_tag_end(p, end, &empty)) == NULL)
			continue;
		if (xml_is_marc(p, n, te, empty, end))
			return (size_t)(p - buf);
	}
	return len;
}

/* Where the record starting at s ends: past its end tag, or at next. */
static size_t
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

/* The head: the XML declaration's encoding. */
static void XMLCALL
xml_head_decl(void *ctx, const char *version, const char *enc, int sa)
{
	struct marc_xml *x = ctx;

	if (enc != NULL && strlen(enc) < sizeof x->enc) {
		strcpy(x->enc, enc);
		x->have_enc = 1;
	}
}

/* The head: every namespace declared before the first record. */
static void XMLCALL
xml_head_ns(void *ctx, const char *prefix, const char *uri)
{
	struct marc_xml *x = ctx;

	if (x->nns >= XML_MAX_NS)
		return;
	x->nns++;
	if (mbuf_adds(&x->ns, prefix ? prefix : "") != 0 ||
	    mbuf_addc(&x->ns, 0) != 0 ||
	    mbuf_adds(&x->ns, uri ? uri : "") != 0 ||
	    mbuf_addc(&x->ns, 0) != 0)
		x->nns = XML_MAX_NS;
}

/* The head: elements opened... */
static void XMLCALL
xml_head_start(void *ctx, const char *name, const char **atts)
{
	((struct marc_xml *)ctx)->head_depth++;
}

/* ...and closed. */
static void XMLCALL
xml_head_end(void *ctx, const char *name)
{
	((struct marc_xml *)ctx)->head_depth--;
}

/* The head: where its DOCTYPE starts (its entities serve the records). */
static void XMLCALL
xml_head_dt_start(void *ctx, const char *name, const char *sysid,
    const char *pubid, int internal)
{
	struct marc_xml	*x = ctx;
	const uint8_t	*buf = x->fr->r.buf;
	XML_Index	 i = XML_GetCurrentByteIndex(x->hp);
	size_t		 k = i > 0 ? (size_t)i : 0;

	/* The event comes at the internal subset: back to "<!DOCTYPE". */
	while (k > 0 && !(buf[k] == '<' && x->head - k >= 9 &&
	    memcmp(buf + k, "<!DOCTYPE", 9) == 0))
		k--;
	x->dt_start = k;
}

/* The head: where its DOCTYPE ends. */
static void XMLCALL
xml_head_dt_end(void *ctx)
{
	struct marc_xml	*x = ctx;
	XML_Index	 i = XML_GetCurrentByteIndex(x->hp);

	if (i >= 0 && (size_t)i >= x->dt_start)
		x->dt_end = (size_t)i + (size_t)XML_GetCurrentByteCount(x->hp);
}

/* An attribute value, escaped for the wrapper. */
static int
xml_wrap_value(struct mbuf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '&' ? mbuf_adds(b, "&amp;") :
		    *v == '<' ? mbuf_adds(b, "&lt;") :
		    *v == '"' ? mbuf_adds(b, "&quot;") :
		    mbuf_addc(b, (uint8_t)*v))
			return -1;
	}
	return 0;
}

/* The wrapper's start tag: the head's prefixes, the last of each name. */
static int
xml_wrap(struct marc_xml *x)
{
	const char	*p, *q, *uri;
	uint32_t	 i, k;
	int		 later;

	x->wrap.len = 0;
	if (x->dt_end > x->dt_start && x->dt_end <= x->head &&
	    mbuf_add(&x->wrap, x->fr->r.buf + x->dt_start,
	    x->dt_end - x->dt_start) != 0)
		return -1;
	if (mbuf_adds(&x->wrap, "<marcd-wrapper") != 0)
		return -1;
	p = (const char *)x->ns.p;
	for (i = 0; i < x->nns; i++) {
		uri = p + strlen(p) + 1;
		later = 0;
		q = uri + strlen(uri) + 1;
		for (k = i + 1; k < x->nns && !later; k++) {
			later = strcmp(p, q) == 0;
			q += strlen(q) + 1;
			q += strlen(q) + 1;
		}
		if (!later && (*uri != '\0' || *p == '\0')) {
			if (mbuf_adds(&x->wrap, *p ? " xmlns:" : " xmlns") ||
			    mbuf_adds(&x->wrap, p) ||
			    mbuf_adds(&x->wrap, "=\"") ||
			    xml_wrap_value(&x->wrap, uri) ||
			    mbuf_addc(&x->wrap, '"'))
				return -1;
		}
		p = uri + strlen(uri) + 1;
	}
	return mbuf_addc(&x->wrap, '>');
}

/* A parser for the head, with the handlers that note what it declares. */
static int
xml_head_parser(struct marc_xml *x)
{
	if (x->hp == NULL) {
		if ((x->hp = XML_ParserCreateNS(NULL, XML_NSSEP)) == NULL)
			return -1;
	} else if (!XML_ParserReset(x->hp, NULL))
		return -1;
	XML_SetUserData(x->hp, x);
	XML_SetXmlDeclHandler(x->hp, xml_head_decl);
	XML_SetStartNamespaceDeclHandler(x->hp, xml_head_ns);
	XML_SetDoctypeDeclHandler(x->hp, xml_head_dt_start, xml_head_dt_end);
	XML_SetElementHandler(x->hp, xml_head_start, xml_head_end);
	return 0;
}

/*
 * Parse the head of the document (up to its first record) for the encoding,
 * the namespaces and the DOCTYPE.  Returns the offset of an error in it, or
 * -1 when it is well-formed so far; -2 when out of memory.
 */
static long long
xml_head(struct marc_xml *x, const uint8_t *buf, size_t head)
{
	long long	 bad = -1;

	x->nns = 0;
	x->ns.len = 0;
	x->have_enc = 0;
	x->dt_start = x->dt_end = 0;
	x->head_depth = 0;
	x->head = head;
	if (xml_head_parser(x) != 0)
		return -2;
	if (XML_Parse(x->hp, (const char *)buf, (int)(head < 0x7FFFFFFF ?
	    head : 0x7FFFFFFF), XML_FALSE) != XML_STATUS_OK) {
		bad = XML_GetCurrentByteIndex(x->hp);
		if (bad < 0)
			bad = 0;
		/* An encoding the head does not hold is not believed. */
		x->have_enc = 0;
		x->dt_start = x->dt_end = 0;
	}
	return bad;
}

/*
 * At the end of the input, what follows the last record must close what
 * the head opened: the head and the trailer are parsed as one document.
 * Returns the offset of an error, or -1.
 */
static long long
xml_trailer(struct marc_xml *x, const uint8_t *buf, size_t from, size_t len)
{
	XML_Index	i;

	if (!x->head_ok || xml_head_parser(x) != 0)
		return -1;
	XML_SetXmlDeclHandler(x->hp, NULL);
	XML_SetStartNamespaceDeclHandler(x->hp, NULL);
	XML_SetDoctypeDeclHandler(x->hp, NULL, NULL);
	XML_SetElementHandler(x->hp, NULL, NULL);
	if (XML_Parse(x->hp, (const char *)buf, (int)x->head, XML_FALSE) ==
	    XML_STATUS_OK && XML_Parse(x->hp, (const char *)buf + from,
	    (int)(len - from), XML_TRUE) == XML_STATUS_OK)
		return -1;
	i = XML_GetCurrentByteIndex(x->hp);
	if (i < 0 || (size_t)i < x->head)
		return (long long)from;
	return (long long)(from + ((size_t)i - x->head));
}

/* A parser ready for records: fresh or reset, handlers, wrapper fed. */
static int
xml_parser(struct marc_xml *x)
{
	const char *enc = x->have_enc ? x->enc : NULL;

	if (x->p == NULL) {
		if ((x->p = XML_ParserCreateNS(enc, XML_NSSEP)) == NULL)
			return -1;
	} else if (!XML_ParserReset(x->p, enc))
		return -1;
	XML_SetUserData(x->p, x);
	XML_SetElementHandler(x->p, xml_start, xml_end);
	XML_SetCharacterDataHandler(x->p, xml_chars);
	x->depth = 0;
	x->fed = x->wrap.len;
	if (XML_Parse(x->p, (const char *)x->wrap.p, (int)x->wrap.len,
	    XML_FALSE) != XML_STATUS_OK)
		return -1;
	return 0;
}

/* Get ready for a range: the head, the wrapper, the parser. */
int
xml_open(struct marc_freader *fr)
{
	struct marc_xml	*x;
	const uint8_t	*buf = fr->r.buf;
	size_t		 head;
	long long	 bad;

	if (fr->xml == NULL && (fr->xml = calloc(1, sizeof(*fr->xml))) == NULL)
		return -1;
	x = fr->xml;
	x->fr = fr;
	head = xml_boundary(buf, fr->total, 0);
	if ((bad = xml_head(x, buf, head)) == -2 || xml_wrap(x) != 0)
		return -1;
	/* The head's errors belong to the range that holds it. */
	x->head_bad = fr->r.pos == 0 ? bad : -1;
	x->head_ok = bad < 0;
	/* Bare records (no enclosing element) have no envelope to check. */
	x->trailer_done = fr->r.len != fr->total || !x->head_ok ||
	    x->head_depth <= 0;
	x->cache_from = x->cache_at = (size_t)-1;
	if (xml_parser(x) != 0) {
		/* The head's encoding or DOCTYPE did not serve: without. */
		x->have_enc = 0;
		x->dt_start = x->dt_end = 0;
		if (xml_wrap(x) != 0 || xml_parser(x) != 0)
			return -1;
	}
	return 0;
}

/* Free the parser and buffers. */
void
xml_close(struct marc_freader *fr)
{
	struct marc_xml *x = fr->xml;

	if (x == NULL)
		return;
	if (x->p != NULL)
		XML_ParserFree(x->p);
	if (x->hp != NULL)
		XML_ParserFree(x->hp);
	mbuf_free(&x->wrap);
	mbuf_free(&x->ns);
	free(x);
	fr->xml = NULL;
}

/* The next record element of the range. */
int
xml_next(struct marc_freader *fr, struct marc_record *rec)
{
	struct marc_reader	*r = &fr->r;
	struct marc_xml		*x = fr->xml;
	const uint8_t		*buf = r->buf;
	size_t			 len = r->len, s, e, next;
	uint32_t		 recno;
	long long		 bad;
	int			 ok;

	if (x->head_bad >= 0) {
		/* The head is not well-formed: said once, before the records,
		 * which are read all the same. */
		text_error(fr, MARC_E_BAD_XML, r->recno + 1, (size_t)x->head_bad);
		rec->offset = (uint64_t)x->head_bad;
		rec->recno = r->recno + 1;
		x->head_bad = -1;
		return MARC_NEXT_SKIPPED;
	}
	/* Boundaries are those of the whole input, wherever a range ends. */
	s = r->pos == x->cache_from ? x->cache_at :
	    xml_boundary(buf, fr->total, r->pos);
	if (s >= len) {
		if (!x->trailer_done) {
			x->trailer_done = 1;
			if ((bad = xml_trailer(x, buf, r->pos, len)) >= 0) {
				/* The envelope after the records is broken
				 * (a truncated response). */
				text_error(fr, MARC_E_BAD_XML, r->recno + 1,
				    (size_t)bad);
				rec->offset = (uint64_t)bad;
				rec->recno = r->recno + 1;
				return MARC_NEXT_SKIPPED;
			}
		}
		r->pos = len;
		return MARC_NEXT_END;
	}
	next = xml_boundary(buf, fr->total, s + 1);
	e = xml_record_end(buf, s, next);
	if (e <= next) {
		x->cache_from = e;
		x->cache_at = next;
	}
	recno = ++r->recno;
	r->pos = e;
	rec->offset = s;
	rec->recno = recno;
	x->fr = fr;
	x->recno = recno;
	x->piece = s;
	x->depth = 0;
	x->text = X_NONE;
	x->closed = 0;
	x->shape = 0;
	marc_build_begin(&fr->b);
	ok = XML_Parse(x->p, (const char *)buf + s, (int)(e - s < 0x7FFFFFFF ?
	    e - s : 0x7FFFFFFF), XML_FALSE) == XML_STATUS_OK;
	if (!ok || !x->closed) {
		if (!ok && XML_GetErrorCode(x->p) == XML_ERROR_NO_MEMORY)
			return -1;
		text_error(fr, MARC_E_BAD_XML, recno, ok ? e : xml_here(x));
		if (xml_parser(x) != 0)
			return -1;
		return MARC_NEXT_SKIPPED;
	}
	x->fed += e - s;
	if (!fr->b.have_leader || fr->b.nfields == 0) {
		/* A record needs a leader and a field. */
		if (!x->shape)
			text_error(fr, MARC_E_BAD_XML, recno, s);
		if (!fr->b.have_leader && fr->b.nfields == 0)
			return MARC_NEXT_SKIPPED;
	}
	if (marc_build_finish(&fr->b, rec, MARC_CS_UTF8, 1) != 0)
		return -1;
	rec->offset = s;
	rec->recno = recno;
	return MARC_NEXT_RECORD;
}
