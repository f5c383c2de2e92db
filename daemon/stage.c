/*
 * daemon/stage.c: compressed batches, the supervisor's side.  UTF-16 text
 * is one too: its decompressor transcodes it to UTF-8 (common/decomp.h).
 *
 * The supervisor tells a compressed batch by its first bytes (it reads
 * them, it parses nothing) and forks one decompressor for it (daemon/unzip.c),
 * sandboxed like a worker, that cuts the decompressed stream into slices
 * exactly as marcctl cuts it offline and writes each into a slot of the
 * batch's stage: a memfd of STAGE_SLOTS slots the supervisor creates and
 * never maps.  Each filled slot becomes an ordinary task that any worker
 * takes (daemon/wstage.c), with the block, retry and ordering rules of any
 * slice; the slot is given back to the decompressor once its slice's last
 * chunk is in, so the decompressor goes no faster than the workers and the
 * client (backpressure through its blocking socket, no polling).  When the
 * stream has ended and every slice is done, a final task writes the
 * batch's last chunk: empty, or the one error that ended the stream.  A
 * decompressor that dies before the end ends the batch with chunk-failed.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "decomp.h"
#include "format.h"

#define UNZIP_SOCK_FD	3	/* the decompressor's socket, as a worker's */
#define UNZIP_INPUT_FD	4	/* and the batch input */
#define STAGE_TURN_MSGS	16	/* messages of one stage per loop turn */

struct stage {
	struct stage	*next;		/* the daemon's list */
	struct batch	*batch;
	pid_t		 pid;		/* the decompressor; 0 once reaped */
	int		 sock;		/* -1 once it has nothing more to say */
	int		 memfd;
	uint64_t	 size;
	uint32_t	 seq_of[STAGE_SLOTS];	/* slice in each slot, or
						 * NO_BLOCK when free */
	uint64_t	 len_of[STAGE_SLOTS];
	uint32_t	 nslices;	/* slices staged so far */
	int		 ended;		/* no slice will come any more */
	int		 died;		/* ... because the decompressor died */
	int		 final;		/* the final chunk is under way */
	uint32_t	 end_code;
	uint64_t	 end_off;
	int		 end_cut;
	int		 from;
	uint64_t	 recnos;	/* record numbers of the chunks done */
};

/* Whether a batch goes through a decompressor: gzip, bzip2, xz or zstd
 * magic, or a UTF-16 byte order mark (a file of two bytes may have one). */
int
stage_detect(int fd, uint64_t size)
{
	uint8_t	head[DECOMP_MAGIC_MAX];
	ssize_t	n;

	if (size < 2)
		return 0;
	if ((n = pread(fd, head, sizeof(head), 0)) <= 0)
		return 0;
	return decomp_detect(head, (size_t)n) != DECOMP_NONE;
}

/*
 * The decompressor, in the child: it keeps stdio, its socket and the input
 * (read by pread), maps the stage read-write, lets every other fd go (the
 * inherited mappings of rings and arenas too), and runs under the workers'
 * seccomp filter.
 */
static void __attribute__((noreturn))
stage_child(struct marcd *m, struct batch *b, struct stage *st, int sock,
    pid_t parent)
{
	struct conn	*c;
	uint8_t		*stage, head[DECOMP_MAGIC_MAX];
	ssize_t		 n;
	int		 i, in, kind;

	for (c = m->conns; c != NULL; c = c->next)
		ring_unmap(&c->rmap);
	for (i = 0; i < m->ntenants; i++)
		(void)munmap(m->tenants[i].arena.base,
		    m->tenants[i].arena.size);
	stage = mmap(NULL, (size_t)st->size, PROT_READ | PROT_WRITE,
	    MAP_SHARED, st->memfd, 0);
	if (stage == MAP_FAILED ||
	    (n = pread(b->fd, head, sizeof(head), 0)) <= 0)
		_exit(WORKER_EXIT_SETUP);
	kind = decomp_detect(head, (size_t)n);
	/* Both fds at their places, whatever numbers they have now. */
	if ((in = fcntl(b->fd, F_DUPFD_CLOEXEC, UNZIP_INPUT_FD + 1)) < 0 ||
	    (sock = fcntl(sock, F_DUPFD_CLOEXEC, UNZIP_INPUT_FD + 1)) < 0 ||
	    dup2(sock, UNZIP_SOCK_FD) != UNZIP_SOCK_FD ||
	    dup2(in, UNZIP_INPUT_FD) != UNZIP_INPUT_FD)
		_exit(WORKER_EXIT_SETUP);
	if (close_range(UNZIP_INPUT_FD + 1, ~0u, 0) != 0)
		_exit(WORKER_EXIT_SETUP);
	pool_child_enter(parent);
	unzip_main(UNZIP_SOCK_FD, UNZIP_INPUT_FD, kind, stage, STAGE_SLOTS,
	    b->charset, b->from);
}

/* Make the batch's stage and fork its decompressor; -1 with errno. */
int
stage_start(struct marcd *m, struct batch *b)
{
	struct stage	*st;
	int		 sv[2] = { -1, -1 }, e, i;
	pid_t		 parent = getpid();

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -1;
	st->batch = b;
	st->sock = -1;
	st->size = (uint64_t)STAGE_SLOTS * STAGE_SLOT_SIZE;
	for (i = 0; i < STAGE_SLOTS; i++)
		st->seq_of[i] = NO_BLOCK;
	/* Sealed against resizing: a worker's mapping of it never faults. */
	if ((st->memfd = memfd_create("marcd-stage", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) < 0)
		goto fail;
	if (ftruncate(st->memfd, (off_t)st->size) != 0 ||
	    fcntl(st->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_SEAL) != 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		goto fail;
	if ((st->pid = fork()) < 0)
		goto fail;
	if (st->pid == 0)
		stage_child(m, b, st, sv[1], parent);
	close(sv[1]);
	st->sock = sv[0];
	b->stage = st;
	b->next_slice = b->nslices = UINT32_MAX;
	st->next = m->stages;
	m->stages = st;
	return 0;
fail:
	e = errno;
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	if (st->memfd >= 0)
		close(st->memfd);
	free(st);
	errno = e;
	return -1;
}

/* The batch is freed: its decompressor goes (reaped by pool_reap). */
void
stage_free(struct marcd *m, struct batch *b)
{
	struct stage	*st = b->stage, **pp;

	for (pp = &m->stages; *pp != NULL; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	if (st->pid > 0)
		kill(st->pid, SIGKILL);
	if (st->sock >= 0)
		close(st->sock);
	close(st->memfd);
	free(st);
	b->stage = NULL;
}

/* The decompressors' sockets for the loop's poll (pfd NULL: count only). */
size_t
stage_poll(struct marcd *m, struct pollfd *pfd)
{
	struct stage	*st;
	size_t		 n = 0;

	for (st = m->stages; st != NULL; st = st->next) {
		if (st->sock < 0)
			continue;
		if (pfd != NULL)
			pfd[n] = (struct pollfd){ .fd = st->sock,
			    .events = POLLIN };
		n++;
	}
	return n;
}

/* Put a task at the back of the queue. */
static void
stage_queue(struct marcd *m, struct batch *b, uint32_t seq, uint64_t start,
    uint32_t flags)
{
	struct task *t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		/* Nothing to run it with: the slice is lost, and said. */
		log_warn("batch %llu: out of memory for slice %u",
		    (unsigned long long)b->id, seq);
		sched_slice_failed(m, b, seq, 0, start);
		return;
	}
	t->batch = b;
	t->seq = seq;
	t->start = start;
	t->flags = TASK_STAGED | flags;
	t->block = NO_BLOCK;
	b->in_flight++;
	b->state = BATCH_RUNNING;
	*m->queue_tail = t;
	m->queue_tail = &t->next;
}

/*
 * Once the stream has ended and every slice is done, the batch's last
 * chunk: a task that writes it (empty, or with the error that ended the
 * stream), or chunk-failed in its place when the decompressor died.
 */
static void
stage_maybe_final(struct marcd *m, struct stage *st)
{
	struct batch *b = st->batch;

	if (!st->ended || st->final || b->slices_done < st->nslices ||
	    (b->state != BATCH_RUNNING && b->state != BATCH_QUEUED))
		return;
	st->final = 1;
	b->nslices = b->next_slice = st->nslices + 1;
	b->state = BATCH_RUNNING;
	if (!st->died) {
		stage_queue(m, b, st->nslices, st->end_off, TASK_FINAL);
		return;
	}
	snprintf(b->error, sizeof(b->error), "chunk-failed: the "
	    "decompressor of the batch died after %llu bytes",
	    (unsigned long long)st->end_off);
	sched_slice_failed(m, b, st->nslices, 0, st->end_off);
}

/* The decompressor ended the stream, or died, or failed: no more slices. */
static void
stage_ended(struct marcd *m, struct stage *st, const struct zmsg *msg)
{
	struct batch *b = st->batch;

	if (st->ended)
		return;
	st->ended = 1;
	if (msg == NULL || msg->code == ZEND_FAILED) {
		st->died = 1;
		st->end_off = msg != NULL ? msg->off : b->bytes_done;
		log_warn("batch %llu: its decompressor %s", (unsigned long
		    long)b->id, msg == NULL ? "died" : "ran out of memory");
	} else {
		st->end_code = msg->code;
		st->end_off = msg->off;
		st->end_cut = msg->cut != 0;
		st->from = msg->from;
	}
	stage_maybe_final(m, st);
	sched_maybe_free(m, b);
}

/* One message from a decompressor: a filled slot, or the end. */
static void
stage_message(struct marcd *m, struct stage *st, const struct zmsg *msg)
{
	struct batch *b = st->batch;

	if (msg->kind == ZMSG_END) {
		stage_ended(m, st, msg);
		return;
	}
	if (msg->kind != ZMSG_SLICE || msg->slot >= STAGE_SLOTS ||
	    st->seq_of[msg->slot] != NO_BLOCK || msg->seq != st->nslices ||
	    st->ended) {
		log_warn("batch %llu: its decompressor said nonsense; "
		    "stopping it", (unsigned long long)b->id);
		kill(st->pid, SIGKILL);
		return;
	}
	st->seq_of[msg->slot] = msg->seq;
	st->len_of[msg->slot] = msg->len;
	st->nslices++;
	if (b->state == BATCH_QUEUED || b->state == BATCH_RUNNING)
		stage_queue(m, b, msg->seq, msg->off, 0);
}

/*
 * Read up to max messages of one decompressor.  1 once its end came (the
 * stage may be freed by then), else 0.
 */
static int
stage_drain(struct marcd *m, struct stage *st, int max)
{
	struct zmsg	msg;
	ssize_t		k;
	int		j;

	for (j = 0; st->sock >= 0 && j < max; j++) {
		k = recv(st->sock, &msg, sizeof(msg), MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		/* It exited with slots given back unread: the reset is
		 * said once, then what it sent before comes. */
		if (k < 0 && errno == ECONNRESET)
			continue;
		if (k != (ssize_t)sizeof(msg) || msg.magic != STAGE_MAGIC) {
			/* EOF or nonsense: it is ending; the end, if it said
			 * none, comes when it is reaped. */
			close(st->sock);
			st->sock = -1;
			break;
		}
		stage_message(m, st, &msg);
		if (msg.kind == ZMSG_END)
			return 1;
	}
	return 0;
}

/* Read what the decompressors said (a bounded number per turn each). */
void
stage_events(struct marcd *m, const struct pollfd *pfd, size_t n)
{
	struct stage	*st;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		for (st = m->stages; st != NULL; st = st->next)
			if (st->sock == pfd[i].fd)
				break;
		if (st != NULL)
			(void)stage_drain(m, st, STAGE_TURN_MSGS);
	}
}

/* A child that is not a worker was reaped: a decompressor, maybe. */
int
stage_reaped(struct marcd *m, pid_t pid, int status)
{
	struct stage	*st;

	for (st = m->stages; st != NULL; st = st->next)
		if (st->pid == pid)
			break;
	if (st == NULL)
		return 0;
	st->pid = 0;
	/* What it said before it went comes first: its end, maybe.  It
	 * can have no more than a message per slot and its end queued. */
	if (!st->ended && stage_drain(m, st, STAGE_SLOTS + 1))
		return 1;
	if (!st->ended) {
		if (WIFSIGNALED(status))
			log_warn("decompressor of batch %llu (pid %ld) killed "
			    "by signal %d", (unsigned long long)st->batch->id,
			    (long)pid, WTERMSIG(status));
		else
			log_warn("decompressor of batch %llu (pid %ld) exited "
			    "with status %d before the end",
			    (unsigned long long)st->batch->id, (long)pid,
			    WEXITSTATUS(status));
		/* A file that shrank under it is the input's fault. */
		if (!sched_input_ok(m, st->batch, st->batch->bytes_done)) {
			st->ended = 1;
			sched_maybe_free(m, st->batch);
			return 1;
		}
		stage_ended(m, st, NULL);
	}
	return 1;
}

/* The slot that holds slice seq, or NO_BLOCK. */
static uint32_t
stage_slot(const struct stage *st, uint32_t seq)
{
	uint32_t i;

	for (i = 0; i < STAGE_SLOTS; i++)
		if (st->seq_of[i] == seq)
			return i;
	return NO_BLOCK;
}

/* What a worker needs for a staged task: the stage and the slot in it. */
void
stage_wtask(const struct task *t, struct wtask *wt, int *fd)
{
	struct batch	*b = t->batch;
	struct stage	*st = b->stage;
	uint32_t	 slot = stage_slot(st, t->seq);

	*fd = st->memfd;
	wt->file_size = st->size;
	wt->stage_off = slot == NO_BLOCK ? 0 :
	    (uint64_t)slot * STAGE_SLOT_SIZE;
	if (!(t->flags & TASK_FINAL) || st->end_code == 0)
		return;
	wt->err_code = st->end_code;
	wt->start = st->end_off;
	/*
	 * The error's record number as marcctl gives it offline, relative to
	 * this chunk (whose first number follows every number used): ISO 2709
	 * says the last record's when the data stops inside one, else the
	 * next; a text format counts the records read, and one (modulo 2^32,
	 * as the client adds it).
	 */
	if (st->end_code == MARC_E_TOO_LARGE)
		wt->err_recno = 1;
	else if (st->from == MARC_FROM_ISO2709)
		wt->err_recno = st->end_cut && st->recnos > 0 ? 0 : 1;
	else
		wt->err_recno = (uint32_t)(b->records + 1 - st->recnos);
}

/* How much input a staged task covers, for its deadline. */
uint64_t
stage_task_len(const struct task *t)
{
	const struct stage	*st = t->batch->stage;
	uint32_t		 slot;

	if (st == NULL || (slot = stage_slot(st, t->seq)) == NO_BLOCK)
		return 0;
	return st->len_of[slot];
}

/*
 * A chunk of a staged slice is in: count its record numbers; once the
 * slice is complete its slot goes back to the decompressor, and the final
 * chunk may follow.
 */
void
stage_part_done(struct marcd *m, struct batch *b, uint32_t seq,
    uint32_t recnos, int complete)
{
	struct stage	*st = b->stage;
	struct zmsg	 msg;
	uint32_t	 slot;

	st->recnos += recnos;
	if (!complete || (slot = stage_slot(st, seq)) == NO_BLOCK)
		return;
	st->seq_of[slot] = NO_BLOCK;
	if (st->sock >= 0 && !st->ended) {
		memset(&msg, 0, sizeof(msg));
		msg.magic = STAGE_MAGIC;
		msg.kind = ZMSG_FREE;
		msg.slot = slot;
		/* Never more than STAGE_SLOTS messages are outstanding, so
		 * the socket has room. */
		if (send(st->sock, &msg, sizeof(msg), MSG_NOSIGNAL |
		    MSG_DONTWAIT) != (ssize_t)sizeof(msg))
			log_warn("batch %llu: cannot give a slot back to its "
			    "decompressor: %s", (unsigned long long)b->id,
			    strerror(errno));
	}
	stage_maybe_final(m, st);
}
