/*
 * common/write_json.c: MARC-in-JSON, the layout of pymarc's as_json(), one
 * compact record per line:
 *
 *   {"leader":"...","fields":[{"001":"..."},
 *    {"245":{"subfields":[{"a":"..."}],"ind1":"1","ind2":"0"}}]}
 */
#include "config.h"

#include "write_int.h"

/* JSON strings must escape the quote, the backslash and C0 controls. */
static const uint8_t json_cls[256] = {
	WR_C0(1),
	['"'] = 1, ['\\'] = 1, [0x7F] = 1,
};

/* Short escapes where JSON has them, \u00xx otherwise. */
static uint8_t *
json_esc(uint8_t *w, const uint8_t **pp, const uint8_t *end)
{
	static const char	hex[] = "0123456789abcdef";
	uint8_t			c = *(*pp)++;

	*w++ = '\\';
	switch (c) {
	case '"':
	case '\\':
		*w++ = c;
		break;
	case '\b':
		*w++ = 'b';
		break;
	case '\f':
		*w++ = 'f';
		break;
	case '\n':
		*w++ = 'n';
		break;
	case '\r':
		*w++ = 'r';
		break;
	case '\t':
		*w++ = 't';
		break;
	default:
		memcpy(w, "u00", 3);
		w += 3;
		*w++ = (uint8_t)hex[c >> 4];
		*w++ = (uint8_t)hex[c & 0xF];
		break;
	}
	return w;
}

static const struct wr_escaper json_escaper = {
	json_cls, 6, json_esc, 0x20, 0, 3, { '"', '\\', 0x7F },
};

/* A data field's value: subfields in order, then the indicators. */
static int
json_datafield(struct marc_writer *w, struct mbuf *out,
    const struct marc_record *rec, const uint8_t *d, size_t len,
    struct marc_errlist *errs)
{
	struct wr_sfiter	si;
	struct marc_subfield	sf;
	struct marc_text	t;
	uint8_t			*o;
	int			 r, first = 1;

	if (WR_LIT(out, "{\"subfields\":[") != 0)
		return -1;
	wr_sf_begin(&si, rec, d, len, &json_escaper);
	while ((r = wr_sf_next(w, rec, &si, &sf, &t, errs)) == 1) {
		if ((o = wr_room(out, t.len, &json_escaper, 32)) == NULL)
			return -1;
		if (!first)
			*o++ = ',';
		WR_PUT(o, "{\"");
		o = wr_byte_to(o, &json_escaper, sf.code);
		WR_PUT(o, "\":\"");
		o = wr_sf_text_to(o, &si, &t);
		WR_PUT(o, "\"}");
		wr_done(out, o);
		first = 0;
	}
	if (r < 0 || (o = wr_room(out, 2, &json_escaper, 32)) == NULL)
		return -1;
	WR_PUT(o, "],\"ind1\":\"");
	o = wr_byte_to(o, &json_escaper, marc_field_ind(d, len, 0));
	WR_PUT(o, "\",\"ind2\":\"");
	o = wr_byte_to(o, &json_escaper, marc_field_ind(d, len, 1));
	WR_PUT(o, "\"}}");
	wr_done(out, o);
	return 0;
}

/* One record as one line of JSON. */
int
write_json_record(struct marc_writer *w, struct mbuf *out,
    const struct marc_record *rec, struct marc_errlist *errs)
{
	const struct marc_field	*f;
	const uint8_t		*d;
	uint8_t			 ld[MARC_LEADER_LEN], *o;
	size_t			 len;
	uint32_t		 i;

	wr_leader(rec, ld);
	if (WR_LIT(out, "{\"leader\":\"") != 0 ||
	    wr_raw(w, out, ld, sizeof ld, &json_escaper) != 0 ||
	    WR_LIT(out, "\",\"fields\":[") != 0)
		return -1;
	for (i = 0; i < rec->nfields; i++) {
		f = &rec->fields[i];
		len = wr_field(rec, f, &d);
		if ((o = wr_room(out, 3, &json_escaper, 8)) == NULL)
			return -1;
		if (i != 0)
			*o++ = ',';
		WR_PUT(o, "{\"");
		o = wr_tag_to(o, &json_escaper, f->tag);
		WR_PUT(o, "\":");
		wr_done(out, o);
		if (marc_field_is_control(f)) {
			if (mbuf_addc(out, '"') != 0 ||
			    wr_text(w, out, rec, d, len, &json_escaper,
			    errs) != 0 ||
			    WR_LIT(out, "\"}") != 0)
				return -1;
		} else if (json_datafield(w, out, rec, d, len, errs) != 0)
			return -1;
	}
	return WR_LIT(out, "]}\n");
}
