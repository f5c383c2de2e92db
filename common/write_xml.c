/*
 * common/write_xml.c: MARCXML (MARC21 slim), one <collection> of records.
 * The output is well-formed for any input: markup characters are escaped
 * and characters XML 1.0 forbids become U+FFFD.
 */
#include "config.h"

#include "write_int.h"

/*
 * Element text: & < > " are escaped, CR as a reference so parsers keep it,
 * and C0 controls other than TAB and LF are forbidden.  0xEF may start
 * U+FFFE or U+FFFF, also forbidden.
 */
static const uint8_t xml_text_cls[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1,	/* TAB, LF */
	WR_16(1),
	['&'] = 1, ['<'] = 1, ['>'] = 1, ['"'] = 1, [0xEF] = 1,
};

/* Attribute values also escape the apostrophe and TAB, LF, CR. */
static const uint8_t xml_attr_cls[256] = {
	WR_C0(1),
	['&'] = 1, ['<'] = 1, ['>'] = 1, ['"'] = 1, ['\''] = 1, [0xEF] = 1,
};

/* Entity or character reference for a special byte, U+FFFD if forbidden. */
static uint8_t *
xml_esc(uint8_t *w, const uint8_t **pp, const uint8_t *end)
{
	static const uint8_t	 fffd[3] = { 0xEF, 0xBF, 0xBD };
	const uint8_t		*p = *pp;
	const char		*s;

	*pp = p + 1;
	switch (*p) {
	case '&':
		s = "&amp;";
		break;
	case '<':
		s = "&lt;";
		break;
	case '>':
		s = "&gt;";
		break;
	case '"':
		s = "&quot;";
		break;
	case '\'':
		s = "&apos;";
		break;
	case '\t':
		s = "&#9;";
		break;
	case '\n':
		s = "&#10;";
		break;
	case '\r':
		s = "&#13;";
		break;
	case 0xEF:
		if (end - p >= 3 && p[1] == 0xBF &&
		    (p[2] == 0xBE || p[2] == 0xBF)) {
			*pp = p + 3;
			memcpy(w, fffd, sizeof fffd);
			return w + sizeof fffd;
		}
		*w++ = 0xEF;
		return w;
	default:
		memcpy(w, fffd, sizeof fffd);
		return w + sizeof fffd;
	}
	memcpy(w, s, strlen(s));
	return w + strlen(s);
}

static const struct wr_escaper xml_text = {
	xml_text_cls, 6, xml_esc, 0x20, 1, 4, { '&', '<', '>', '"' },
};
static const struct wr_escaper xml_attr = {
	xml_attr_cls, 6, xml_esc, 0x20, 1, 5, { '&', '<', '>', '"', '\'' },
};

/* The XML declaration and the opening of the collection. */
int
write_xml_begin(struct mbuf *out)
{
	return WR_LIT(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<collection xmlns=\"http://www.loc.gov/MARC21/slim\">\n");
}

/* Close the collection. */
int
write_xml_end(struct mbuf *out)
{
	return WR_LIT(out, "</collection>\n");
}

/* A data field with its indicators and subfields, one per line. */
static int
xml_datafield(struct marc_writer *w, struct mbuf *out,
    const struct marc_record *rec, const struct marc_field *f,
    const uint8_t *d, size_t len, struct marc_errlist *errs)
{
	struct wr_sfiter	si;
	struct marc_subfield	sf;
	struct marc_text	t;
	uint8_t			*o;
	int			 r;

	if ((o = wr_room(out, 5, &xml_attr, 64)) == NULL)
		return -1;
	WR_PUT(o, "  <datafield tag=\"");
	o = wr_tag_to(o, &xml_attr, f->tag);
	WR_PUT(o, "\" ind1=\"");
	o = wr_byte_to(o, &xml_attr, marc_field_ind(d, len, 0));
	WR_PUT(o, "\" ind2=\"");
	o = wr_byte_to(o, &xml_attr, marc_field_ind(d, len, 1));
	WR_PUT(o, "\">\n");
	wr_done(out, o);
	wr_sf_begin(&si, rec, d, len, &xml_text);
	while ((r = wr_sf_next(w, rec, &si, &sf, &t, errs)) == 1) {
		if ((o = wr_room(out, t.len, &xml_text, 64)) == NULL)
			return -1;
		WR_PUT(o, "    <subfield code=\"");
		o = wr_byte_to(o, &xml_attr, sf.code);
		WR_PUT(o, "\">");
		o = wr_sf_text_to(o, &si, &t);
		WR_PUT(o, "</subfield>\n");
		wr_done(out, o);
	}
	if (r < 0)
		return -1;
	return WR_LIT(out, "  </datafield>\n");
}

/* One <record> element. */
int
write_xml_record(struct marc_writer *w, struct mbuf *out,
    const struct marc_record *rec, struct marc_errlist *errs)
{
	const struct marc_field	*f;
	const uint8_t		*d;
	uint8_t			 ld[MARC_LEADER_LEN], *o;
	size_t			 len;
	uint32_t		 i;

	wr_leader(rec, ld);
	if (WR_LIT(out, "<record>\n  <leader>") != 0 ||
	    wr_raw(w, out, ld, sizeof ld, &xml_text) != 0 ||
	    WR_LIT(out, "</leader>\n") != 0)
		return -1;
	for (i = 0; i < rec->nfields; i++) {
		f = &rec->fields[i];
		len = wr_field(rec, f, &d);
		if (!marc_field_is_control(f)) {
			if (xml_datafield(w, out, rec, f, d, len, errs) != 0)
				return -1;
			continue;
		}
		if ((o = wr_room(out, 3, &xml_attr, 32)) == NULL)
			return -1;
		WR_PUT(o, "  <controlfield tag=\"");
		o = wr_tag_to(o, &xml_attr, f->tag);
		WR_PUT(o, "\">");
		wr_done(out, o);
		if (wr_text(w, out, rec, d, len, &xml_text, errs) != 0 ||
		    WR_LIT(out, "</controlfield>\n") != 0)
			return -1;
	}
	return WR_LIT(out, "</record>\n");
}
