/*
 * daemon/batch.c: batch ids and the table that finds a batch by its id.
 *
 * Ids are a keyed permutation of a serial number: unique for the life of
 * the daemon (workers key their input mapping on them) but opaque, so a
 * tenant cannot count the other tenants' submissions from its own ids.
 * Live batches sit in one hash table, so a lookup costs the same with ten
 * batches or ten thousand.
 */
#include "config.h"

#include <sys/random.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

#define BHASH_MIN	256

/* One round function of the id permutation: a 32-bit mix of half and key. */
static uint32_t
batch_round(uint32_t x, uint32_t k)
{
	x ^= k;
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

/* A four-round Feistel network: a bijection on 64 bits under the key. */
static uint64_t
batch_permute(const uint32_t key[4], uint64_t v)
{
	uint32_t	l = (uint32_t)(v >> 32), r = (uint32_t)v, t;
	int		i;

	for (i = 0; i < 4; i++) {
		t = r;
		r = l ^ batch_round(r, key[i]);
		l = t;
	}
	return (uint64_t)l << 32 | r;
}

/* Pick the id key and make the (empty) table; fatal only at start-up. */
void
sched_init(struct marcd *m)
{
	ssize_t n;

	n = getrandom(m->id_key, sizeof(m->id_key), 0);
	if (n != (ssize_t)sizeof(m->id_key))
		log_fatal("getrandom: %s", strerror(errno));
	m->next_batch_serial = 1;
	m->bhash_size = BHASH_MIN;
	if ((m->bhash = calloc(m->bhash_size, sizeof(*m->bhash))) == NULL)
		log_fatal("out of memory");
}

/* The next batch id: never 0, which clients take as "no batch". */
uint64_t
batch_next_id(struct marcd *m)
{
	uint64_t id;

	do
		id = batch_permute(m->id_key, m->next_batch_serial++);
	while (id == 0);
	return id;
}

/* Bucket of an id: ids are already well mixed. */
static uint32_t
batch_bucket(const struct marcd *m, uint64_t id)
{
	return (uint32_t)(id ^ (id >> 32)) & (m->bhash_size - 1);
}

/* Double the table when it gets crowded; stay as is without memory. */
static void
batch_grow(struct marcd *m)
{
	struct batch	**nt, *b, *bn;
	uint32_t	  i, old = m->bhash_size, h;

	if ((nt = calloc((size_t)old * 2, sizeof(*nt))) == NULL)
		return;
	m->bhash_size = old * 2;
	for (i = 0; i < old; i++) {
		for (b = m->bhash[i]; b != NULL; b = bn) {
			bn = b->hnext;
			h = batch_bucket(m, b->id);
			b->hnext = nt[h];
			nt[h] = b;
		}
	}
	free(m->bhash);
	m->bhash = nt;
}

/* Enter a new batch in the table. */
void
batch_insert(struct marcd *m, struct batch *b)
{
	uint32_t h;

	if (m->nlive >= m->bhash_size)
		batch_grow(m);
	h = batch_bucket(m, b->id);
	b->hnext = m->bhash[h];
	m->bhash[h] = b;
	m->nlive++;
}

/* Take a batch out of the table before it is freed. */
void
batch_remove(struct marcd *m, struct batch *b)
{
	struct batch **pp;

	for (pp = &m->bhash[batch_bucket(m, b->id)]; *pp != NULL;
	    pp = &(*pp)->hnext) {
		if (*pp == b) {
			*pp = b->hnext;
			m->nlive--;
			return;
		}
	}
}

/* Find a live batch by id among the tenant's. */
struct batch *
sched_find(struct marcd *m, struct tenant *t, uint64_t id)
{
	struct batch *b;

	for (b = m->bhash[batch_bucket(m, id)]; b != NULL; b = b->hnext)
		if (b->id == id && b->tenant == t)
			return b;
	return NULL;
}

/* A batch of this client's freed lately, for its StatusRequest. */
const struct batch *
sched_recent(const struct conn *c, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < MARCD_RECENT && i < c->nrecent; i++)
		if (c->recent[i].id == id)
			return &c->recent[i];
	return NULL;
}

/* At exit: close every batch input and free what is left. */
void
sched_free_all(struct marcd *m)
{
	struct batch	*b;
	struct done	*d;
	uint32_t	 i;

	for (i = 0; i < m->bhash_size; i++) {
		while ((b = m->bhash[i]) != NULL) {
			m->bhash[i] = b->hnext;
			while ((d = b->held) != NULL) {
				b->held = d->next;
				free(d);
			}
			if (b->stage != NULL)
				stage_free(m, b);
			if (b->fd >= 0)
				close(b->fd);
			free(b);
		}
	}
	free(m->bhash);
	m->bhash = NULL;
	m->nlive = 0;
}

/* How many slices cut a batch's range: one at least, so that an empty
 * input or range still ends with a last chunk. */
uint32_t
batch_nslices(uint64_t range_off, uint64_t range_end)
{
	uint64_t len = range_end > range_off ? range_end - range_off : 0;

	return len ? (uint32_t)((len + MARC_SLICE_SIZE - 1) / MARC_SLICE_SIZE) :
	    1;
}

/* Slice seq of a batch's range: MARC_SLICE_SIZE bytes from the range's
 * start, the last one shorter; its records are those marc_range_bounds
 * gives for it, so the slices of a range read as the range does. */
void
batch_slice(uint64_t range_off, uint64_t range_end, uint32_t seq,
    uint64_t *off, uint64_t *len)
{
	uint64_t start = range_off + (uint64_t)seq * MARC_SLICE_SIZE;

	if (start > range_end)
		start = range_end;
	*off = start;
	*len = range_end - start < MARC_SLICE_SIZE ? range_end - start :
	    MARC_SLICE_SIZE;
}
