/*
 * common/read_json.c: MARC-in-JSON, the shape marcctl dump --format
 * marcjson and pymarc write:
 *
 *   {"leader":"...","fields":[{"001":"..."},
 *    {"245":{"ind1":"1","ind2":"0","subfields":[{"a":"..."}]}}]}
 *
 * as one object, an array of them, objects one after another, or JSON
 * Lines.  JSON is parsed with yajl, an event parser: values go straight
 * into the record being built, nothing is allocated per record.
 *
 * A record starts at a `{` whose first key is "leader" or "fields" (an
 * unescaped quote cannot occur inside a JSON string, so this is never
 * inside a value) and ends where the next one starts; the array syntax
 * between (`,`, `]`) is not part of it.  One yajl handle reads the records
 * of a range one after another (multiple values); a record that breaks it
 * is reported and a new handle takes the next record.
 */
#include "config.h"

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "read_text.h"

/* Where in the record shape the next event lands. */
enum json_state {
	J_TOP,		/* before the record object */
	J_REC,		/* in the record: a key or the end */
	J_LEADER,	/* the leader's value */
	J_FIELDS,	/* the fields' value */
	J_FARR,		/* in the fields array */
	J_FOBJ,		/* in a field object: a tag or the end */
	J_FVAL,		/* a field's value: string or data field object */
	J_DOBJ,		/* in a data field object */
	J_IND1,
	J_IND2,
	J_SUBS,		/* the subfields' value */
	J_SARR,		/* in the subfields array */
	J_SOBJ,		/* in a subfield object: a code or the end */
	J_SVAL,		/* a subfield's value */
	J_IGNORE,	/* the value of a key the shape does not know */
	J_SKIP,		/* inside a value being skipped */
	J_DONE,		/* the record object has ended */
};

struct marc_json {
	yajl_handle		 h;
	struct marc_freader	*fr;
	int			 state;
	int			 ret;		/* state after an ignored value */
	uint32_t		 skip;		/* depth inside a skipped value */
	uint32_t		 recno;
	size_t			 piece;		/* offset of the record */
	size_t			 done_at;	/* bytes fed when it closed */
	size_t			 end;		/* where the record's text ends */
	int			 shape;		/* a shape error was reported */
	uint32_t		 nkeys;		/* keys in this field/subfield */
	uint8_t			*esc;		/* a record re-read with its raw
					 * control characters escaped */
	size_t			 esc_cap;
};

/* The state that follows a value read (or skipped) in state s. */
static int
json_after(int s)
{
	switch (s) {
	case J_LEADER:
	case J_FIELDS:
		return J_REC;
	case J_FVAL:
		return J_FOBJ;
	case J_IND1:
	case J_IND2:
	case J_SUBS:
		return J_DOBJ;
	case J_SVAL:
		return J_SOBJ;
	case J_FARR:
		return J_FARR;
	case J_SARR:
		return J_SARR;
	case J_IGNORE:
		return -1;
	}
	return J_DONE;
}

/* One error per record for values out of the marc-in-json shape. */
static void
json_shape(struct marc_json *j)
{
	size_t	at;

	if (j->shape)
		return;
	j->shape = 1;
	/* Past the end only in an escaped copy (json_retry): its end then. */
	at = j->piece + yajl_get_bytes_consumed(j->h);
	text_error(j->fr, MARC_E_BAD_JSON, j->recno, at < j->end ? at : j->end);
}

/* A value where the shape has none: reported, and skipped if a container. */
static int
json_unexpected(struct marc_json *j, int container, int report)
{
	int next = j->state == J_IGNORE ? j->ret : json_after(j->state);

	if (report || j->state != J_IGNORE)
		json_shape(j);
	if (container) {
		j->skip = 1;
		j->ret = next;
		j->state = J_SKIP;
	} else
		j->state = next;
	return 1;
}

/* null, true, false and numbers are nowhere in the shape. */
static int
json_scalar(void *ctx)
{
	struct marc_json *j = ctx;

	if (j->state == J_SKIP)
		return 1;
	return json_unexpected(j, 0, 0);
}

static int
json_null(void *ctx)
{
	return json_scalar(ctx);
}

static int
json_boolean(void *ctx, int v)
{
	return json_scalar(ctx);
}

static int
json_number(void *ctx, const char *s, size_t n)
{
	return json_scalar(ctx);
}

/* One character of a position (indicator): blank if empty. */
static uint8_t
json_char(struct marc_json *j, const unsigned char *s, size_t n)
{
	int	bad;
	uint8_t	c = text_char(s, n, &bad);

	if (bad)
		json_shape(j);
	return c;
}

/* Strings: the leader, control fields, indicators, subfield data. */
static int
json_string(void *ctx, const unsigned char *s, size_t n)
{
	struct marc_json	*j = ctx;
	struct marc_build	*b = &j->fr->b;
	int			 r;

	switch (j->state) {
	case J_SKIP:
		return 1;
	case J_LEADER:
		if (marc_build_leader(b, s, n) != 0)
			json_shape(j);
		j->state = J_REC;
		return 1;
	case J_FVAL:
		/* A control field: the tag was taken with the key. */
		if (!text_control_tag((const uint8_t *)b->fields[b->nfields].tag,
		    3))
			json_shape(j);
		if ((r = marc_build_text(b, s, n)) < 0)
			return 0;
		if (r > 0)
			json_shape(j);
		j->state = J_FOBJ;
		return 1;
	case J_IND1:
	case J_IND2:
		marc_build_ind(b, j->state == J_IND2, json_char(j, s, n));
		j->state = J_DOBJ;
		return 1;
	case J_SVAL:
		if ((r = marc_build_text(b, s, n)) < 0)
			return 0;
		if (r > 0)
			json_shape(j);
		j->state = J_SOBJ;
		return 1;
	}
	return json_unexpected(j, 0, 0);
}

/* Keys name the record's parts, field tags and subfield codes. */
static int
json_key(void *ctx, const unsigned char *s, size_t n)
{
	struct marc_json	*j = ctx;
	struct marc_build	*b = &j->fr->b;

	switch (j->state) {
	case J_SKIP:
		return 1;
	case J_REC:
		if (n == 6 && memcmp(s, "leader", 6) == 0)
			j->state = J_LEADER;
		else if (n == 6 && memcmp(s, "fields", 6) == 0)
			j->state = J_FIELDS;
		else {
			j->ret = J_REC;
			j->state = J_IGNORE;
		}
		return 1;
	case J_FOBJ:
		/* A field is a one-key object; the tag opens the field
		 * now, its kind is known from the value. */
		if (n != 3 || j->nkeys++ != 0)
			json_shape(j);
		if (marc_build_field(b, s, n) != 0)
			return 0;
		j->state = J_FVAL;
		return 1;
	case J_DOBJ:
		if (n == 4 && memcmp(s, "ind1", 4) == 0)
			j->state = J_IND1;
		else if (n == 4 && memcmp(s, "ind2", 4) == 0)
			j->state = J_IND2;
		else if (n == 9 && memcmp(s, "subfields", 9) == 0)
			j->state = J_SUBS;
		else {
			j->ret = J_DOBJ;
			j->state = J_IGNORE;
		}
		return 1;
	case J_SOBJ:
		if (j->nkeys++ != 0)
			json_shape(j);
		if (marc_build_subfield(b, json_char(j, s, n)) != 0)
			return 0;
		j->state = J_SVAL;
		return 1;
	}
	return 1;
}

/* Objects: the record, a field, a data field, a subfield. */
static int
json_start_map(void *ctx)
{
	struct marc_json	*j = ctx;
	struct marc_build	*b = &j->fr->b;

	switch (j->state) {
	case J_SKIP:
		j->skip++;
		return 1;
	case J_TOP:
		j->state = J_REC;
		return 1;
	case J_FARR:
		j->nkeys = 0;
		j->state = J_FOBJ;
		return 1;
	case J_FVAL:
		/* A data field: the field opened with the key gets its two
		 * indicators first. */
		if (text_control_tag((const uint8_t *)b->fields[b->nfields].tag,
		    3))
			json_shape(j);
		if (marc_build_make_data(b) != 0)
			return 0;
		j->state = J_DOBJ;
		return 1;
	case J_SARR:
		j->nkeys = 0;
		j->state = J_SOBJ;
		return 1;
	}
	return json_unexpected(j, 1, 0);
}

/* The end of an object returns to what holds it. */
static int
json_end_map(void *ctx)
{
	struct marc_json *j = ctx;

	switch (j->state) {
	case J_SKIP:
		if (--j->skip == 0)
			j->state = j->ret;
		return 1;
	case J_REC:
		j->state = J_DONE;
		j->done_at = yajl_get_bytes_consumed(j->h);
		return 1;
	case J_FOBJ:
		if (j->nkeys == 0)
			json_shape(j);
		j->state = J_FARR;
		return 1;
	case J_DOBJ:
		j->state = J_FOBJ;
		return 1;
	case J_SOBJ:
		if (j->nkeys == 0)
			json_shape(j);
		j->state = J_SARR;
		return 1;
	}
	return 1;
}

/* Arrays: the fields and the subfields. */
static int
json_start_array(void *ctx)
{
	struct marc_json *j = ctx;

	switch (j->state) {
	case J_SKIP:
		j->skip++;
		return 1;
	case J_FIELDS:
		j->state = J_FARR;
		return 1;
	case J_SUBS:
		j->state = J_SARR;
		return 1;
	}
	return json_unexpected(j, 1, 0);
}

static int
json_end_array(void *ctx)
{
	struct marc_json *j = ctx;

	switch (j->state) {
	case J_SKIP:
		if (--j->skip == 0)
			j->state = j->ret;
		return 1;
	case J_FARR:
		j->state = J_REC;
		return 1;
	case J_SARR:
		j->state = J_DOBJ;
		return 1;
	}
	return 1;
}

static const yajl_callbacks json_callbacks = {
	json_null, json_boolean, NULL, NULL, json_number, json_string,
	json_start_map, json_key, json_end_map, json_start_array,
	json_end_array,
};

/* A new handle: at the start of a range and after a record that broke one. */
static int
json_handle(struct marc_json *j)
{
	if (j->h != NULL)
		yajl_free(j->h);
	if ((j->h = yajl_alloc(&json_callbacks, NULL, j)) == NULL)
		return -1;
	yajl_config(j->h, yajl_allow_multiple_values, 1);
	return 0;
}

/* Is p the start of a record object: `{`, then "leader" or "fields"? */
static int
json_record_start(const uint8_t *p, const uint8_t *end)
{
	p++;
	while (p < end && text_is_space(*p))
		p++;
	if (end - p < 8 || *p != '"' ||
	    (memcmp(p + 1, "leader\"", 7) != 0 &&
	    memcmp(p + 1, "fields\"", 7) != 0))
		return 0;
	for (p += 8; p < end && text_is_space(*p); p++)
		;
	return p < end && *p == ':';
}

/* Offset of the next record object at or after pos. */
size_t
json_boundary(const uint8_t *buf, size_t len, size_t pos)
{
	const uint8_t *p;

	while (pos < len) {
		p = memchr(buf + pos, '{', len - pos);
		if (p == NULL)
			return len;
		if (json_record_start(p, buf + len))
			return (size_t)(p - buf);
		pos = (size_t)(p - buf) + 1;
	}
	return len;
}

/* A handle for a new range, kept from the last one when there was one. */
int
json_open(struct marc_freader *fr)
{
	if (fr->json == NULL) {
		if ((fr->json = calloc(1, sizeof(*fr->json))) == NULL)
			return -1;
	} else if (fr->json->state == J_TOP || fr->json->state == J_DONE)
		return 0;
	fr->json->fr = fr;
	fr->json->state = J_TOP;
	return json_handle(fr->json);
}

/* Free the handle. */
void
json_close(struct marc_freader *fr)
{
	if (fr->json == NULL)
		return;
	if (fr->json->h != NULL)
		yajl_free(fr->json->h);
	free(fr->json->esc);
	free(fr->json);
	fr->json = NULL;
}

/* Array syntax and white space between records, skipped silently. */
static int
json_between(uint8_t c)
{
	return text_is_space(c) || c == ',' || c == '[' || c == ']';
}

/*
 * p[0..n) with each raw control character inside a string written as
 * \u00XX into out (when not NULL); the length that takes.  *first: the
 * first such byte's offset (n when there is none).
 */
static size_t
json_escape_pass(const uint8_t *p, size_t n, uint8_t *out, size_t *first)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i, o = 0;
	int			 in = 0, bs = 0;

	*first = n;
	for (i = 0; i < n; i++) {
		if (bs)
			bs = 0;
		else if (in && p[i] == '\\')
			bs = 1;
		else if (p[i] == '"')
			in = !in;
		else if (in && p[i] < 0x20) {
			if (*first == n)
				*first = i;
			if (out != NULL) {
				memcpy(out + o, "\\u00", 4);
				out[o + 4] = (uint8_t)hex[p[i] >> 4];
				out[o + 5] = (uint8_t)hex[p[i] & 15];
			}
			o += 6;
			continue;
		}
		if (out != NULL)
			out[o] = p[i];
		o++;
	}
	return o;
}

/*
 * Raw control characters inside the strings of p[0..n) (a newline typed
 * into a field): not JSON, but read as the character by other readers
 * (Python's json with strict=False, which pymarc uses).  Copies the span
 * into j->esc with each escaped; the copy's length, 0 when there is none
 * (*first: the first one's offset in p), -1 when out of memory.
 */
static ssize_t
json_escape_controls(struct marc_json *j, const uint8_t *p, size_t n,
    size_t *first)
{
	size_t	 need;
	uint8_t	*q;

	need = json_escape_pass(p, n, NULL, first);
	if (*first == n)
		return 0;
	if (j->esc_cap < need) {
		if ((q = realloc(j->esc, need)) == NULL)
			return -1;
		j->esc = q;
		j->esc_cap = need;
	}
	return (ssize_t)json_escape_pass(p, n, j->esc, first);
}

/*
 * yajl refused the record at s..t: if raw control characters in its
 * strings are why, one bad-json error at the first and the record read
 * again with them escaped (offsets of later errors in it then count the
 * escapes).  0 when it was read again (*st its result), 1 when not, -1
 * when out of memory.
 */
static int
json_retry(struct marc_freader *fr, struct marc_json *j, size_t s, size_t t,
    yajl_status *st)
{
	ssize_t	n;
	size_t	first = 0;

	if ((n = json_escape_controls(j, fr->r.buf + s, t - s, &first)) <= 0)
		return n < 0 ? -1 : 1;
	text_error(fr, MARC_E_BAD_JSON, j->recno, s + first);
	if (json_handle(j) != 0)
		return -1;
	j->state = J_TOP;
	j->shape = 0;
	j->skip = 0;
	marc_build_begin(&fr->b);
	*st = yajl_parse(j->h, j->esc, (size_t)n);
	if (*st == yajl_status_ok && j->state == J_DONE) {
		/* What follows the object is looked at in the copy. */
		while (j->done_at < (size_t)n && json_between(j->esc[j->done_at]))
			j->done_at++;
		j->done_at = j->done_at < (size_t)n ? t - s - 1 : t - s;
	}
	return 0;
}

/* The next record object of the range, or what lay where none was. */
int
json_next(struct marc_freader *fr, struct marc_record *rec)
{
	struct marc_reader	*r = &fr->r;
	struct marc_json	*j = fr->json;
	const uint8_t		*buf = r->buf;
	size_t			 s, e, t, u;
	yajl_status		 st;
	uint32_t		 recno;
	int			 rc;

	if ((rc = text_next_span(fr, rec, json_between, json_boundary,
	    MARC_E_BAD_JSON, &s, &e)) != MARC_NEXT_RECORD)
		return rc;
	recno = rec->recno;
	for (t = e; t > s + 1 && json_between(buf[t - 1]); t--)
		;
	j->fr = fr;
	j->state = J_TOP;
	j->shape = 0;
	j->skip = 0;
	j->recno = recno;
	j->piece = s;
	j->end = t;
	marc_build_begin(&fr->b);
	st = yajl_parse(j->h, buf + s, t - s);
	if (st == yajl_status_error && j->state != J_DONE &&
	    json_retry(fr, j, s, t, &st) < 0)
		return -1;
	if (st != yajl_status_ok || j->state != J_DONE) {
		if (st == yajl_status_ok)
			text_error(fr, MARC_E_BAD_JSON, recno, t);
		else if (j->state != J_DONE || !j->shape) {
			/* Past t only in an escaped copy: its end then. */
			u = s + yajl_get_bytes_consumed(j->h);
			text_error(fr, MARC_E_BAD_JSON, recno, u < t ? u : t);
		}
		if (json_handle(j) != 0)
			return -1;
		if (j->state != J_DONE)
			return MARC_NEXT_SKIPPED;
	}
	/* Text after the record's object would start the next parse inside
	 * it: an error here, and a fresh handle, so that the next record
	 * reads the same whatever range it falls in. */
	if (st == yajl_status_ok && j->state == J_DONE) {
		for (u = s + j->done_at; u < t && json_between(buf[u]); u++)
			;
		if (u < t) {
			text_error(fr, MARC_E_BAD_JSON, recno, u);
			if (json_handle(j) != 0)
				return -1;
		}
	}
	/* A record needs a leader and a field. */
	if ((!fr->b.have_leader || (fr->b.nfields == 0 && !fr->b.open)) &&
	    !j->shape)
		text_error(fr, MARC_E_BAD_JSON, recno, s);
	if (marc_build_finish(&fr->b, rec, MARC_CS_UTF8, 1) != 0)
		return -1;
	rec->offset = s;
	rec->recno = recno;
	return MARC_NEXT_RECORD;
}
