/*
 * daemon/tenant.c: tenants, their arenas and the accounting of their blocks.
 *
 * Each tenant has an arena of its own, and a stack of its free blocks.  A
 * block is free, held by a worker filling it, or lent to the client it was
 * published to; it goes back to the stack once, whoever gives it back.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

enum { OWNER_FREE = 0, OWNER_WORKER = 1, OWNER_CONN = 2 };

/* Create the tenant's arena and put every block on the free stack. */
int
tenant_init(struct tenant *t, const struct tenant_conf *tc, uint32_t index,
    size_t arena_size, uint32_t block_size)
{
	char		mname[96];
	uint32_t	i, n;

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", tc->name);
	snprintf(mname, sizeof(mname), "marcd-%s", tc->name);
	t->conf = tc;
	t->index = index;
	if (tc->arena_size != 0)
		arena_size = tc->arena_size;
	if (arena_create(&t->arena, arena_size, block_size, mname) != 0)
		return -1;
	n = t->arena.nblocks;
	t->free_blocks = calloc(n, sizeof(*t->free_blocks));
	t->owner = calloc(n, 1);
	if (t->free_blocks == NULL || t->owner == NULL) {
		arena_close(&t->arena);
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < n; i++)
		t->free_blocks[i] = n - 1 - i;
	t->nfree = n;
	TAILQ_INIT(&t->ready);
	return 0;
}

/* May this peer attach?  Its uid, primary gid or a supplementary group
 * must be on the tenant's lists; root may attach to any tenant (it can
 * read every process's memory anyway) and so sees all statistics. */
int
tenant_allows(const struct tenant *t, uid_t uid, gid_t gid,
    const gid_t *groups, int ngroups)
{
	const struct tenant_conf	*c = t->conf;
	uint32_t			 i;
	int				 j;

	if (uid == 0)
		return 1;
	for (i = 0; i < c->nuids; i++)
		if (c->uids[i] == uid)
			return 1;
	for (i = 0; i < c->ngids; i++) {
		if (c->gids[i] == gid)
			return 1;
		for (j = 0; j < ngroups; j++)
			if (c->gids[i] == groups[j])
				return 1;
	}
	return 0;
}

/* Drop the arena: the memfd goes with its last mapping. */
void
tenant_free(struct tenant *t)
{
	arena_close(&t->arena);
	free(t->free_blocks);
	free(t->owner);
}

/* Take a free block for a worker; NO_BLOCK when the arena is full. */
uint32_t
tenant_block_take(struct tenant *t)
{
	uint32_t b;

	if (t->nfree == 0)
		return NO_BLOCK;
	b = t->free_blocks[--t->nfree];
	t->owner[b] = OWNER_WORKER;
	return b;
}

/* Give a block back to the free stack, once. */
void
tenant_block_put(struct tenant *t, uint32_t b)
{
	if (b >= t->arena.nblocks || t->owner[b] == OWNER_FREE)
		return;
	t->owner[b] = OWNER_FREE;
	t->free_blocks[t->nfree++] = b;
}

/* The block is published: the client holds it until it gives it back. */
void
tenant_block_lend(struct tenant *t, uint32_t b)
{
	if (b < t->arena.nblocks)
		t->owner[b] = OWNER_CONN;
}
