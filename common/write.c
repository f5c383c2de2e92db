/*
 * common/write.c: writer set-up, format names and dispatch, and the helpers
 * every format uses to turn record bytes into valid UTF-8.
 */
#include "config.h"

#include <strings.h>

#include "write_int.h"

/* Names a user may give for a format. */
static const struct {
	const char	*name;
	int		 format;
} write_names[] = {
	{ "marcjson", MARC_FMT_MARCJSON },
	{ "json", MARC_FMT_MARCJSON },
	{ "marcxml", MARC_FMT_MARCXML },
	{ "xml", MARC_FMT_MARCXML },
	{ "mrk", MARC_FMT_MRK },
	{ "iso2709", MARC_FMT_ISO2709 },
	{ "marc", MARC_FMT_ISO2709 },
};

/* What each format does around and for each record. */
static const struct {
	int	(*begin)(struct mbuf *);
	int	(*record)(struct marc_writer *, struct mbuf *,
		    const struct marc_record *, struct marc_errlist *);
	int	(*end)(struct mbuf *);
} write_ops[] = {
	[MARC_FMT_MARCJSON] = { NULL, write_json_record, NULL },
	[MARC_FMT_MARCXML] = { write_xml_begin, write_xml_record,
	    write_xml_end },
	[MARC_FMT_MRK] = { NULL, write_mrk_record, NULL },
	[MARC_FMT_ISO2709] = { NULL, write_iso2709_record, NULL },
};

#define WRITE_NOPS	(sizeof write_ops / sizeof write_ops[0])

/* Map a command-line or protocol format name to its number. */
int
marc_format_parse(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof write_names / sizeof write_names[0]; i++) {
		if (strcasecmp(name, write_names[i].name) == 0)
			return write_names[i].format;
	}
	return -1;
}

/* Start with empty buffers; they grow on first use and are then reused. */
void
marc_writer_init(struct marc_writer *w, int format)
{
	memset(w, 0, sizeof *w);
	w->format = format;
}

/* Release the reused buffers. */
void
marc_writer_free(struct marc_writer *w)
{
	mbuf_free(&w->scratch);
	mbuf_free(&w->rec);
	mbuf_free(&w->dir);
}

/* True when the writer was set up with a format we know. */
static int
write_known(const struct marc_writer *w)
{
	return w->format >= 0 && (size_t)w->format < WRITE_NOPS;
}

/* Prologue of the output, if the format has one. */
int
marc_writer_begin(struct marc_writer *w, struct mbuf *out)
{
	if (!write_known(w))
		return -1;
	if (write_ops[w->format].begin == NULL)
		return 0;
	return write_ops[w->format].begin(out);
}

/* One record; on failure out is left as it was, never half a record. */
int
marc_writer_record(struct marc_writer *w, struct mbuf *out,
    const struct marc_record *rec, struct marc_errlist *errs)
{
	size_t	len = out->len;

	if (!write_known(w))
		return -1;
	w->scratch.len = 0;
	if (write_ops[w->format].record(w, out, rec, errs) != 0) {
		out->len = len;
		return -1;
	}
	return 0;
}

/* Epilogue of the output, if the format has one. */
int
marc_writer_end(struct marc_writer *w, struct mbuf *out)
{
	if (!write_known(w))
		return -1;
	if (write_ops[w->format].end == NULL)
		return 0;
	return write_ops[w->format].end(out);
}

/* Textual formats show the leader as read, but say the output is UTF-8. */
void
wr_leader(const struct marc_record *rec, uint8_t ld[MARC_LEADER_LEN])
{
	size_t	n = rec->len;

	if (n > MARC_LEADER_LEN)
		n = MARC_LEADER_LEN;
	memset(ld, ' ', MARC_LEADER_LEN);
	if (rec->leader != NULL)	/* the leader as read, if converted */
		memcpy(ld, rec->leader, MARC_LEADER_LEN);
	else if (n != 0)
		memcpy(ld, rec->data, n);
	ld[9] = 'a';
}

/* The leader with bytes over 0x7F: kept if UTF-8, else U+FFFD. */
int
wr_raw_utf8(struct marc_writer *w, struct mbuf *out, const uint8_t *p,
    size_t n, const struct wr_escaper *e)
{
	size_t	start, bad;
	int	r;

	if (utf8_valid_len(p, n) == n)
		return wr_escape(out, e, p, n);
	start = w->scratch.len;
	if (utf8_sanitize(&w->scratch, p, n, &bad) < 0)
		return -1;
	r = wr_escape(out, e, w->scratch.p + start, w->scratch.len - start);
	w->scratch.len = start;
	return r;
}
