/*
 * common/read_xml.c: MARCXML (MARC 21 slim), in a <collection>, as bare
 * <record>s, or wrapped in other XML (OAI-PMH ListRecords, SRU), with or
 * without a namespace prefix.  XML is parsed with libxml2's push parser and
 * its SAX2 events; where the records are comes from xml_bound.c.
 *
 * Only records are given to the parser; the envelope between them is
 * skipped, so a range of the input (a slice) can be read on its own:
 *
 *   - the head of the document, up to its first record, is parsed once per
 *     range for its encoding, the namespace prefixes it declares and the
 *     internal entities of its DOCTYPE;
 *   - one parser per range is fed a wrapper element declaring those
 *     prefixes, then each record of the range, one after another, as the
 *     wrapper's children;
 *   - a record that is not well-formed is reported (bad-xml) and the parser
 *     is reset (wrapper again) for the next one.
 *
 * Nothing but the input is read: no DTD and no external entity is loaded
 * (the head's internal entities are all the records get), no network, and
 * only the encodings libxml2 has built in (UTF-8, ISO-8859-1, US-ASCII),
 * never iconv, which would open files in a sandboxed worker.  libxml2's
 * limits (names, text, entity expansion) stay on: no XML_PARSE_HUGE.
 *
 * Elements are known by local name; the namespace of the record is not
 * checked, so MARCXML without a namespace reads too.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/entities.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "read_text.h"

#define XML_MAX_NS	64
#define XML_SLIM	"http://www.loc.gov/MARC21/slim"
#define XML_INT_MAX	0x7FFFFFFF
#define XML_DICT_MAX	4096		/* names before a parser is renewed */
/* Never what the document says (that could reach iconv), never the net. */
#define XML_HEAD_OPTS	(XML_PARSE_NONET | XML_PARSE_IGNORE_ENC)
/* Records: entities replaced by their text, from the head's table only. */
#define XML_REC_OPTS	(XML_HEAD_OPTS | XML_PARSE_NOENT)

/* What the character data in hand belongs to. */
enum xml_text {
	X_NONE,
	X_LEADER,
	X_FIELD,	/* controlfield or subfield data */
};

/* The names a record has, as the parser's dictionary holds them. */
enum xml_name {
	N_RECORD,
	N_LEADER,
	N_CONTROLFIELD,
	N_DATAFIELD,
	N_SUBFIELD,
	N_TAG,
	N_IND1,
	N_IND2,
	N_CODE,
	N_COUNT
};

static const char *const xml_names[N_COUNT] = {
	"record", "leader", "controlfield", "datafield", "subfield", "tag",
	"ind1", "ind2", "code"
};

/* Why a handler stopped the parser. */
enum xml_stop {
	S_NONE,
	S_BAD,		/* not well-formed in a way libxml2 lets through */
	S_NOMEM,
};

struct marc_xml {
	xmlParserCtxtPtr	 p;		/* the records' parser */
	xmlParserCtxtPtr	 hp;		/* the head's (and trailer's) */
	xmlDocPtr		 ents;		/* the head's internal entities */
	/* Names are compared as pointers into p's dictionary. */
	const xmlChar		*nm[N_COUNT];
	struct marc_freader	*fr;
	struct mbuf		 wrap;		/* the wrapper's start tag */
	const char		*enc;		/* built-in encoding; NULL: UTF-8 */
	/* The head, while it is parsed. */
	int			 in_head;	/* hp's events are the head's */
	int			 ext_subset;	/* its DOCTYPE names a DTD */
	uint32_t		 nns;
	struct mbuf		 ns;		/* prefix\0uri\0 ... */
	/* The record being read. */
	uint64_t		 fed;		/* bytes given to the parser */
	uint64_t		 fed_dec;	/* the same, as it decodes them */
	size_t			 piece;		/* input offset of the piece */
	size_t			 piece_end;	/* and its end */
	uint32_t		 recno;
	int			 depth;		/* 0 = the wrapper, 1 = the record */
	int			 text;		/* enum xml_text */
	int			 closed;	/* the record element ended */
	int			 shape;		/* a shape error was reported */
	int			 datafield;	/* depth 2 element is a datafield */
	int			 stop;		/* enum xml_stop */
	uint32_t		 nsub;		/* its subfields */
	long long		 head_bad;	/* offset of an error in the head */
	size_t			 head_from;	/* the head: past a BOM */
	size_t			 head;		/* its end */
	int			 trailer_done;
	int			 head_ok;	/* the head is well-formed */
	int			 head_depth;	/* elements open at its end */
	size_t			 cache_from;	/* xml_boundary(cache_from) is */
	size_t			 cache_at;	/* cache_at, whose record ends */
	size_t			 cache_end;	/* at cache_end (0: unknown) */
};

/* libxml2's messages are not ours to print: errors are the parse result. */
#if LIBXML_VERSION >= 21200
static void
xml_quiet(void *ctx, const xmlError *e)
#else
static void
xml_quiet(void *ctx, xmlErrorPtr e)
#endif
{
}

/* Bytes of the document a parser has consumed, or -1. */
static long long
xml_consumed(xmlParserCtxtPtr c, int tag)
{
	const xmlChar	*q;
	long		 i = xmlByteConsumed(c);

	if (i < 0 || c->input == NULL)
		return -1;
	/* At an element event, where its tag starts (UTF-8 input only,
	 * where the parser's bytes are the input's). */
	if (tag && (c->input->buf == NULL || c->input->buf->encoder == NULL) &&
	    c->input->cur > c->input->base) {
		for (q = c->input->cur - 1; q > c->input->base && *q != '<'; q--)
			;
		if (*q == '<')
			i -= (long)(c->input->cur - q);
	}
	return i;
}

/* Whether the parser decodes ISO-8859-1: a byte >= 0x80 takes two. */
static int
xml_latin1(const struct marc_xml *x)
{
	return x->enc != NULL && strcmp(x->enc, "ISO-8859-1") == 0;
}

/* Bytes p[0..n) become in the parser. */
static uint64_t
xml_dec_len(const struct marc_xml *x, const uint8_t *p, size_t n)
{
	uint64_t	d = n;
	size_t		i;

	if (xml_latin1(x))
		for (i = 0; i < n; i++)
			d += p[i] >= 0x80;
	return d;
}

/*
 * Offset in the input of the event being handled (tag: an element's), in
 * another encoding than UTF-8: libxml2's count of the bytes it consumed
 * then depends on what it decoded before, so the place in the decoded
 * text is taken back through the piece's own bytes instead.
 */
static size_t
xml_here_decoded(const struct marc_xml *x, int tag)
{
	xmlParserInputPtr	 in = x->p->input;
	const uint8_t		*raw = x->fr->r.buf + x->piece;
	const xmlChar		*q;
	uint64_t		 u, d = 0;
	size_t			 k = 0, n = x->piece_end - x->piece;
	int			 two;

	if (in == NULL || in->cur == NULL || in->base == NULL ||
	    in->cur < in->base)
		return x->piece;
	q = in->cur;
	if (tag && q > in->base) {
		/* An element's event comes after its start tag: back to '<'. */
		for (q--; q > in->base && *q != '<'; q--)
			;
		if (*q != '<')
			q = in->cur;
	}
	u = (uint64_t)in->consumed + (uint64_t)(q - in->base);
	if (u <= x->fed_dec)
		return x->piece;
	u -= x->fed_dec;
	/* Back through the piece's bytes, as xml_dec_len counts them. */
	two = xml_latin1(x);
	for (; k < n && d < u; k++)
		d += 1 + (two && raw[k] >= 0x80);
	return x->piece + k;
}

/* Offset in the input of the event being handled (tag: an element's). */
static size_t
xml_here(const struct marc_xml *x, int tag)
{
	long long i;

	if (x->enc != NULL)
		return xml_here_decoded(x, tag);
	i = xml_consumed(x->p, tag);
	if (i < 0 || (uint64_t)i < x->fed)
		return x->piece;
	i = (long long)(x->piece + (size_t)((uint64_t)i - x->fed));
	return (size_t)i > x->piece_end ? x->piece_end : (size_t)i;
}

/* Stop the records' parser from a handler. */
static void
xml_stop(struct marc_xml *x, int why)
{
	if (x->stop == S_NONE)
		x->stop = why;
	xmlStopParser(x->p);
}

/* One error per record for what MARCXML does not allow. */
static void
xml_shape(struct marc_xml *x, int tag)
{
	if (x->shape)
		return;
	x->shape = 1;
	text_error(x->fr, MARC_E_BAD_XML, x->recno, xml_here(x, tag));
}

/* An attribute's value by local name (SAX2: 5 pointers each), length in *n. */
static const uint8_t *
xml_attr(const xmlChar **atts, int na, const xmlChar *name, size_t *n)
{
	int i;

	for (i = 0; i < na; i++, atts += 5)
		if (atts[0] == name) {
			*n = (size_t)(atts[4] - atts[3]);
			return atts[3];
		}
	*n = 0;
	return NULL;
}

/* One character attribute (indicator, code): blank when missing. */
static uint8_t
xml_char(struct marc_xml *x, const xmlChar **atts, int na, int name)
{
	const uint8_t	*v;
	size_t		 n;
	int		 bad;
	uint8_t		 c;

	v = xml_attr(atts, na, x->nm[name], &n);
	c = text_char(v ? v : (const uint8_t *)"", n, &bad);
	if (bad)
		xml_shape(x, 1);
	return c;
}

/* A tag attribute: three characters. */
static int
xml_tag(struct marc_xml *x, const xmlChar **atts, int na, int data)
{
	size_t		 n;
	const uint8_t	*t = xml_attr(atts, na, x->nm[N_TAG], &n);

	/* The element must say what the tag says: 00X is a control field. */
	if (n != 3 || text_control_tag(t, n) == data)
		xml_shape(x, 1);
	if (data)
		return marc_build_datafield(&x->fr->b, t, n);
	return marc_build_field(&x->fr->b, t, n);
}

/* A prefix bound to no namespace: not well-formed, as XML says. */
static int
xml_unbound(const xmlChar *prefix, const xmlChar *uri, const xmlChar **atts,
    int na)
{
	int i;

	if (prefix != NULL && uri == NULL)
		return 1;
	for (i = 0; i < na; i++, atts += 5)
		if (atts[1] != NULL && atts[2] == NULL)
			return 1;
	return 0;
}

/* Elements of a record: leader, controlfield, datafield, subfield. */
static void
xml_start(void *ctx, const xmlChar *local, const xmlChar *prefix,
    const xmlChar *uri, int nns, const xmlChar **ns, int na, int ndef,
    const xmlChar **atts)
{
	struct marc_xml		*x = ctx;
	struct marc_build	*b = &x->fr->b;
	int			 rc = 0;

	if (xml_unbound(prefix, uri, atts, na)) {
		xml_stop(x, S_BAD);
		return;
	}
	x->depth++;
	x->text = X_NONE;
	if (x->depth == 0)
		return;		/* the wrapper */
	if (x->depth == 1) {
		/* MARC 21 slim is the namespace; records without one are
		 * read, and said to be out of it. */
		if (local != x->nm[N_RECORD] || uri == NULL ||
		    strcmp((const char *)uri, XML_SLIM) != 0)
			xml_shape(x, 1);
		return;
	}
	if (x->depth == 2) {
		x->datafield = 0;
		if (local == x->nm[N_DATAFIELD]) {
			rc = xml_tag(x, atts, na, 1);
			marc_build_ind(b, 0, xml_char(x, atts, na, N_IND1));
			marc_build_ind(b, 1, xml_char(x, atts, na, N_IND2));
			x->datafield = 1;
			x->nsub = 0;
		} else if (local == x->nm[N_CONTROLFIELD]) {
			rc = xml_tag(x, atts, na, 0);
			x->text = X_FIELD;
		} else if (local == x->nm[N_LEADER]) {
			x->fr->tmp.len = 0;
			x->text = X_LEADER;
		} else
			xml_shape(x, 1);
	} else if (x->depth == 3 && x->datafield &&
	    local == x->nm[N_SUBFIELD]) {
		rc = marc_build_subfield(b, xml_char(x, atts, na, N_CODE));
		x->text = X_FIELD;
		x->nsub++;
	} else
		xml_shape(x, 1);
	if (rc != 0)
		xml_stop(x, S_NOMEM);
}

/* Close what the element opened. */
static void
xml_end(void *ctx, const xmlChar *local, const xmlChar *prefix,
    const xmlChar *uri)
{
	struct marc_xml		*x = ctx;
	struct marc_build	*b = &x->fr->b;

	if (x->depth == 2) {
		if (x->text == X_LEADER) {
			if (b->have_leader ||
			    marc_build_leader(b, x->fr->tmp.p, x->fr->tmp.len))
				xml_shape(x, 1);
		} else {
			if (x->datafield && x->nsub == 0)
				xml_shape(x, 1);
			if (b->open && marc_build_end_field(b) != 0)
				xml_stop(x, S_NOMEM);
		}
	} else if (x->depth == 1)
		x->closed = 1;
	x->text = X_NONE;
	x->depth--;
}

/* Text of the leader and of fields; other text is layout. */
static void
xml_chars(void *ctx, const xmlChar *s, int n)
{
	struct marc_xml	*x = ctx;
	int		 r;

	if (x->text == X_LEADER) {
		if (mbuf_add(&x->fr->tmp, s, (size_t)n) != 0)
			xml_stop(x, S_NOMEM);
	} else if (x->text == X_FIELD) {
		if ((r = marc_build_text(&x->fr->b, s, (size_t)n)) < 0)
			xml_stop(x, S_NOMEM);
		else if (r > 0)
			xml_shape(x, 0);
	}
}

/* An entity reference in a record: the head's internal ones only. */
static xmlEntityPtr
xml_entity(void *ctx, const xmlChar *name)
{
	struct marc_xml *x = ctx;

	if (x->ents == NULL)
		return xmlGetPredefinedEntity(name);
	return xmlGetDocEntity(x->ents, name);
}

/* A parameter entity of the head's internal subset. */
static xmlEntityPtr
xml_pentity(void *ctx, const xmlChar *name)
{
	struct marc_xml *x = ctx;

	return x->ents != NULL ? xmlGetParameterEntity(x->ents, name) : NULL;
}

/* The head: its DOCTYPE, and whether it names an external DTD. */
static void
xml_head_subset(void *ctx, const xmlChar *name, const xmlChar *pubid,
    const xmlChar *sysid)
{
	struct marc_xml *x = ctx;

	if (x->in_head)
		x->ext_subset = pubid != NULL || sysid != NULL;
}

/*
 * The head: internal entities are kept; external ones are never loaded,
 * they read as nothing (as in a parser that does not load them), so they
 * are kept as internal and empty.  Unparsed (NDATA) ones are not text.
 */
static void
xml_head_entity(void *ctx, const xmlChar *name, int type,
    const xmlChar *pubid, const xmlChar *sysid, xmlChar *content)
{
	struct marc_xml *x = ctx;

	if (!x->in_head || x->ents == NULL)
		return;
	switch (type) {
	case XML_EXTERNAL_GENERAL_PARSED_ENTITY:
		type = XML_INTERNAL_GENERAL_ENTITY;
		content = (xmlChar *)"";
		break;
	case XML_EXTERNAL_PARAMETER_ENTITY:
		type = XML_INTERNAL_PARAMETER_ENTITY;
		content = (xmlChar *)"";
		break;
	case XML_INTERNAL_GENERAL_ENTITY:
	case XML_INTERNAL_PARAMETER_ENTITY:
		break;
	default:
		return;
	}
	/* A name declared twice keeps its first value (NULL here). */
	xmlAddDocEntity(x->ents, name, type, NULL, NULL, content);
}

/* The head: every namespace declared, and the elements left open. */
static void
xml_head_start(void *ctx, const xmlChar *local, const xmlChar *prefix,
    const xmlChar *uri, int nns, const xmlChar **ns, int na, int ndef,
    const xmlChar **atts)
{
	struct marc_xml	*x = ctx;
	int		 i;

	if (!x->in_head)
		return;
	x->head_depth++;
	for (i = 0; i < nns && x->nns < XML_MAX_NS; i++) {
		x->nns++;
		if (mbuf_adds(&x->ns, ns[2 * i] ? (const char *)ns[2 * i] :
		    "") != 0 || mbuf_addc(&x->ns, 0) != 0 ||
		    mbuf_adds(&x->ns, ns[2 * i + 1] ? (const char *)
		    ns[2 * i + 1] : "") != 0 || mbuf_addc(&x->ns, 0) != 0)
			x->nns = XML_MAX_NS;
	}
}

/* ...and closed. */
static void
xml_head_end(void *ctx, const xmlChar *local, const xmlChar *prefix,
    const xmlChar *uri)
{
	struct marc_xml *x = ctx;

	if (x->in_head)
		x->head_depth--;
}

/* What both parsers share: SAX2, our entities only, errors kept quiet. */
static void
xml_sax_base(xmlSAXHandler *h)
{
	memset(h, 0, sizeof(*h));
	h->initialized = XML_SAX2_MAGIC;
	h->getEntity = xml_entity;
	h->getParameterEntity = xml_pentity;
	h->serror = xml_quiet;
}

/* The records' parser's events. */
static void
xml_sax_records(xmlSAXHandler *h)
{
	xml_sax_base(h);
	h->startElementNs = xml_start;
	h->endElementNs = xml_end;
	/* Blanks as text: libxml2 then does not look at them twice. */
	h->characters = xml_chars;
	h->ignorableWhitespace = xml_chars;
	h->cdataBlock = xml_chars;
}

/* The head parser's events. */
static void
xml_sax_head(xmlSAXHandler *h)
{
	xml_sax_base(h);
	h->startElementNs = xml_head_start;
	h->endElementNs = xml_head_end;
	h->internalSubset = xml_head_subset;
	h->entityDecl = xml_head_entity;
}

/*
 * A parser made or reset, with the range's encoding and the options;
 * libxml2 is never given the first bytes to guess an encoding from.
 */
static int
xml_ctxt(struct marc_xml *x, xmlParserCtxtPtr *c, int head)
{
	xmlSAXHandler h;

	if (*c == NULL) {
		if (head)
			xml_sax_head(&h);
		else
			xml_sax_records(&h);
		if ((*c = xmlCreatePushParserCtxt(&h, x, NULL, 0, NULL)) ==
		    NULL)
			return -1;
	}
	if (xmlCtxtResetPush(*c, NULL, 0, NULL, x->enc) != 0)
		return -1;
	xmlCtxtUseOptions(*c, head ? XML_HEAD_OPTS : XML_REC_OPTS);
	/* Undeclared entities under an external DTD are skipped, as a
	 * parser that does not read the DTD must. */
	(*c)->hasExternalSubset = x->ext_subset;
	return 0;
}

/* Feed bytes; 0 when the parser took them without an error. */
static int
xml_feed(xmlParserCtxtPtr c, const uint8_t *p, size_t n, int last)
{
	int rc;

	rc = xmlParseChunk(c, (const char *)p, (int)(n < XML_INT_MAX ? n :
	    XML_INT_MAX), last);
	return rc != 0 || !c->wellFormed ? -1 : 0;
}

/*
 * The encoding the XML declaration at p names: NULL for UTF-8 or none,
 * else libxml2's built-in name; *bad when it is one that is not read.
 */
static const char *
xml_decl_enc(const uint8_t *p, size_t n, int *bad)
{
	static const char *const names[] = { "ISO-8859-1", "US-ASCII" };
	const uint8_t	*e, *q, *v;
	size_t		 i, k;
	uint8_t		 quote;

	*bad = 0;
	if (n < 6 || memcmp(p, "<?xml", 5) != 0 || !text_is_space(p[5]) ||
	    (e = memmem(p, n, "?>", 2)) == NULL ||
	    (q = memmem(p, (size_t)(e - p), "encoding", 8)) == NULL)
		return NULL;
	for (q += 8; q < e && text_is_space(*q); q++)
		;
	if (q == e || *q++ != '=')
		return NULL;
	while (q < e && text_is_space(*q))
		q++;
	if (q == e || (*q != '"' && *q != '\''))
		return NULL;
	quote = *q++;
	for (v = q; q < e && *q != quote; q++)
		;
	k = (size_t)(q - v);
	if (q == e)
		return NULL;
	if ((k == 5 && strncasecmp((const char *)v, "UTF-8", 5) == 0))
		return NULL;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (k == strlen(names[i]) &&
		    strncasecmp((const char *)v, names[i], k) == 0)
			return names[i];
	*bad = 1;
	return NULL;
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

/*
 * Parse the head of the document (up to its first record) for the encoding,
 * the namespaces and the internal entities.  Returns the offset of an
 * error in it, or -1 when it is well-formed so far; -2 when out of memory.
 */
static long long
xml_head(struct marc_xml *x, const uint8_t *buf, size_t head)
{
	long long	 bad = -1;
	int		 badenc;

	x->nns = 0;
	x->ns.len = 0;
	x->head_depth = 0;
	x->ext_subset = 0;
	x->head = head;
	x->head_from = head >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	x->enc = xml_decl_enc(buf + x->head_from, head - x->head_from,
	    &badenc);
	if (x->ents != NULL)
		xmlFreeDoc(x->ents);
	if ((x->ents = xmlNewDoc((const xmlChar *)"1.0")) == NULL ||
	    xmlCreateIntSubset(x->ents, (const xmlChar *)"marcd", NULL,
	    NULL) == NULL || xml_ctxt(x, &x->hp, 1) != 0)
		return -2;
	x->in_head = 1;
	if (xml_feed(x->hp, buf + x->head_from, head - x->head_from, 0) != 0) {
		if (x->hp->errNo == XML_ERR_NO_MEMORY)
			return -2;
		bad = xml_consumed(x->hp, 0);
		bad = bad < 0 ? (long long)x->head_from :
		    bad + (long long)x->head_from;
		if (bad > (long long)head)
			bad = (long long)head;
		/* What a broken head declares is not believed. */
		x->enc = NULL;
		xmlFreeDoc(x->ents);
		x->ents = NULL;
		x->ext_subset = 0;
	}
	x->in_head = 0;
	if (badenc && bad < 0)
		/* An encoding this reader does not read: said at the
		 * declaration; the records are read as UTF-8. */
		bad = (long long)x->head_from;
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
	long long	i;
	size_t		hl = x->head - x->head_from;

	if (!x->head_ok || xml_ctxt(x, &x->hp, 1) != 0)
		return -1;
	if (xml_feed(x->hp, buf + x->head_from, hl, 0) == 0 &&
	    xml_feed(x->hp, buf + from, len - from, 1) == 0)
		return -1;
	i = xml_consumed(x->hp, 0);
	if (i < 0 || (size_t)i < hl)
		return (long long)from;
	i = (long long)(from + ((size_t)i - hl));
	return i > (long long)len ? (long long)len : i;
}

/* A parser ready for records: fresh or reset, names known, wrapper fed. */
static int
xml_parser(struct marc_xml *x)
{
	int i;

	if (xml_ctxt(x, &x->p, 0) != 0)
		return -1;
	for (i = 0; i < N_COUNT; i++)
		if ((x->nm[i] = xmlDictLookup(x->p->dict,
		    (const xmlChar *)xml_names[i], -1)) == NULL)
			return -1;
	x->depth = -1;		/* the wrapper's start makes it 0 */
	x->stop = S_NONE;
	x->fed = x->wrap.len;
	x->fed_dec = xml_dec_len(x, x->wrap.p, x->wrap.len);
	return xml_feed(x->p, x->wrap.p, x->wrap.len, 0);
}

/*
 * Free a parser and the document libxml2 makes in SAX mode to keep a
 * DOCTYPE's entities in ("for expat compatibility"), which is not its.
 */
static void
xml_free_ctxt(xmlParserCtxtPtr c)
{
	if (c->myDoc != NULL)
		xmlFreeDoc(c->myDoc);
	c->myDoc = NULL;
	xmlFreeParserCtxt(c);
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
	/* A parser's dictionary keeps every name it met: a reader kept
	 * for many ranges starts afresh once they add up. */
	if (x->p != NULL && xmlDictSize(x->p->dict) > XML_DICT_MAX) {
		xml_free_ctxt(x->p);
		x->p = NULL;
	}
	if (x->hp != NULL && xmlDictSize(x->hp->dict) > XML_DICT_MAX) {
		xml_free_ctxt(x->hp);
		x->hp = NULL;
	}
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
	if (xml_parser(x) == 0)
		return 0;
	/*
	 * Prefixes the head's parser took that the records' parser refuses
	 * (names of bytes from another encoding): the head is broken, and
	 * the records are read without its prefixes, each one that uses
	 * them a bad-xml of its own.
	 */
	if (x->nns == 0)
		return -1;
	x->nns = 0;
	if (xml_wrap(x) != 0)
		return -1;
	x->head_bad = fr->r.pos == 0 ? (long long)head : -1;
	x->head_ok = 0;
	x->trailer_done = 1;
	return xml_parser(x);
}

/* Free the parsers and buffers. */
void
xml_close(struct marc_freader *fr)
{
	struct marc_xml *x = fr->xml;

	if (x == NULL)
		return;
	if (x->p != NULL)
		xml_free_ctxt(x->p);
	if (x->hp != NULL)
		xml_free_ctxt(x->hp);
	if (x->ents != NULL)
		xmlFreeDoc(x->ents);
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
	size_t			 len = r->len, s, e, next, rend, nend;
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
	if (r->pos == x->cache_from) {
		s = x->cache_at;
		rend = x->cache_end;
	} else
		s = xml_boundary_end(buf, fr->total, r->pos, &rend);
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
	if (rend != 0) {
		/* Its end tag is known, and no boundary lies before it. */
		e = rend;
		next = xml_boundary_end(buf, fr->total, e, &nend);
	} else {
		next = xml_boundary_end(buf, fr->total, s + 1, &nend);
		e = xml_record_end(buf, s, next);
	}
	if (e <= next) {
		x->cache_from = e;
		x->cache_at = next;
		x->cache_end = nend;
	}
	recno = ++r->recno;
	r->pos = e;
	rec->offset = s;
	rec->recno = recno;
	x->fr = fr;
	x->recno = recno;
	x->piece = s;
	x->piece_end = e;
	x->text = X_NONE;
	x->closed = 0;
	x->shape = 0;
	marc_build_begin(&fr->b);
	ok = xml_feed(x->p, buf + s, e - s, 0) == 0 && x->stop == S_NONE;
	if (!ok || !x->closed) {
		if (x->stop == S_NOMEM || x->p->errNo == XML_ERR_NO_MEMORY)
			return -1;
		/* Where the parser stopped: at the error, or where it waits
		 * for what the record does not have (an end tag, a ';'). */
		text_error(fr, MARC_E_BAD_XML, recno, xml_here(x, 0));
		if (xml_parser(x) != 0)
			return -1;
		return MARC_NEXT_SKIPPED;
	}
	x->fed += e - s;
	x->fed_dec += xml_dec_len(x, buf + s, e - s);
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
