/*
 * daemon/daemon.h: the supervisor's state, shared by its files.
 *
 * The supervisor owns the socket, the arenas and the batches; it forks the
 * workers and never parses.  Workers take one task at a time (a slice of a
 * batch and a block to fill) over a SOCK_SEQPACKET pair and answer with a
 * result; only then does the supervisor publish the block on the client's
 * ring, so a chunk is delivered exactly once whatever happens to workers.
 * Words (slice, task, block, chunk, part): see the glossary in common/shm.h.
 */
#ifndef MARCD_DAEMON_H
#define MARCD_DAEMON_H

#include <sys/queue.h>
#include <sys/types.h>

#include <poll.h>

#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "proto.h"
#include "ring.h"
#include "shm.h"

#define MARCD_DEFAULT_ARENA	(256u << 20)
#define MARCD_DEFAULT_BLOCK	(4u << 20)
#define MARCD_MAX_CLIENTS	64	/* connections per tenant */
#define MARCD_MAX_WORKERS	256
#define MARCD_STOP_GRACE_MS	4000	/* SIGTERM to exit, under systemd's 5 s */
#define MARCD_HELLO_MS		5000	/* a new connection has this long to say Hello */
#define MARCD_IDLE_MS		(15 * 60 * 1000)	/* and then to do something */
#define MARCD_MAX_PENDING	16	/* per uid: connections not past Hello yet */
#define MARCD_RINGS_PER_UID	32	/* per uid: half the rings of a tenant */
#define MARCD_TASK_MS		10000	/* a task's deadline: this much, and
					 * as much again per MiB it covers */
#define MARCD_ACCEPT_PAUSE_MS	200	/* out of fds: stop accepting this long */
#define MARCD_MAX_TENANTS	64
#define MARCD_MAX_IDS		32	/* uids or gids per tenant */
#define MARCD_TENANT_NAME	64
#define MARCD_TURN_FRAMES	32	/* frames of one client per loop turn */
#define MARCD_TURN_READS	16	/* and reads of its socket */
#define MARCD_RECENT		8	/* per client: finished batches kept for
					 * StatusRequest after they are freed */
#ifndef MARCD_CONFIG
#define MARCD_CONFIG		"/etc/marcd/marcd.conf"	/* set by Makefile.am */
#endif

/* --- supervisor <-> worker messages (same binary, trusted peers) --- */
#define WMSG_MAGIC	0x4b534154u	/* "TASK" */
#define WORKER_SOCK_FD	3	/* a worker's task socket; it has no other fd
				 * but stdio and the batch fd of a task */

struct wtask {
	uint32_t	magic;
	uint32_t	tenant;		/* which arena */
	uint64_t	batch_id;
	uint64_t	file_size;
	uint64_t	start;		/* exact start if TASK_EXACT, else cut k */
	uint32_t	seq;		/* slice k */
	uint32_t	block;
	int32_t		charset;
	uint32_t	flags;
	uint64_t	range_off;	/* the batch's range of the input: */
	uint64_t	range_end;	/* its slices cut [range_off, range_end) */
	int32_t		from;		/* enum marc_from, or -1: by content */
	uint32_t	pad;
	/* TASK_STAGED: the input is the batch's stage (file_size is its
	 * size), the slice is in the slot at stage_off; TASK_FINAL: no input,
	 * the chunk that ends a staged batch, with one error if err_code. */
	uint64_t	stage_off;
	uint32_t	err_code;
	uint32_t	err_recno;	/* relative to the chunk (modulo 2^32) */
};
#define TASK_EXACT	0x1u	/* start is a record boundary already */
#define TASK_STAGED	0x2u	/* a slice of a compressed batch: stage.c */
#define TASK_FINAL	0x4u	/* with TASK_STAGED: the batch's last chunk */

/* How a worker process ends (its exit status, as pool_reap logs it). */
enum worker_exit {
	WORKER_EXIT_DONE = 0,	/* its socket closed: the supervisor is done */
	WORKER_EXIT_SETUP = 1,	/* could not set up its fds or its sandbox */
	WORKER_EXIT_TASK = 3	/* a task failed inside: the reader or the
				 * block writer refused (a bug, not input) */
};
const char *worker_exit_name(int status);

/* The largest batch accepted: 64 TiB, 2^26 slices. */
#define MARCD_INPUT_MAX	((uint64_t)1 << 46)

struct wresult {
	uint32_t	magic;
	uint32_t	status;		/* WRES_* */
	uint64_t	batch_id;
	uint32_t	seq;
	uint32_t	block;
	uint32_t	nrecords;
	uint32_t	nerrors;
	uint64_t	start;		/* where the slice really started */
	uint64_t	end;		/* where it stopped (< slice end if PARTIAL) */
	uint64_t	slice_end;
	uint32_t	recnos;		/* record numbers the chunk used */
	uint32_t	reserved;
};
#define WRES_DONE	0	/* the whole slice (or its rest) is in the block */
#define WRES_PARTIAL	1	/* the block filled; the rest starts at end */
#define WRES_IOERR	2	/* the batch could not be mapped */

/*
 * --- the stage of a compressed batch (stage.c, unzip.c, wstage.c) ---
 * A memfd the supervisor creates (and never maps) of STAGE_SLOTS slots;
 * the decompressor writes one slice into a free slot (a struct stage_hdr,
 * then the bytes the reader needs), says so, and waits for a free slot
 * when none is; a slot is free again once its slice's chunks are done.
 */
#define STAGE_SLOTS	6
#define STAGE_HDR	64		/* the header's room at a slot's start */
#define STAGE_DATA_MAX	((size_t)129 << 20)	/* a slice and an XML head,
						 * each up to ISO_FEED_MAX */
#define STAGE_SLOT_SIZE	(STAGE_HDR + STAGE_DATA_MAX)
#define STAGE_MAGIC	0x47415453u	/* "STAG" */

struct stage_hdr {
	uint32_t	magic;
	int32_t		from;		/* enum marc_from */
	uint32_t	seq;
	uint32_t	err_code;	/* a stretch skipped before the slice */
	uint64_t	err_off;
	uint64_t	delta;		/* stream offset = slot offset + delta */
	uint64_t	pos;		/* the slice: [pos, end) of the data */
	uint64_t	end;
	uint64_t	total;		/* data bytes in the slot */
	uint64_t	reserved;
};

/* Decompressor <-> supervisor, over a SOCK_SEQPACKET pair. */
struct zmsg {
	uint32_t	magic;		/* STAGE_MAGIC */
	uint32_t	kind;		/* ZMSG_* */
	uint32_t	slot;
	uint32_t	seq;
	uint64_t	off;		/* SLICE: stream start; END: good end */
	uint64_t	len;		/* SLICE: data bytes in the slot */
	uint32_t	code;		/* END: 0, or the error that ends it */
	uint32_t	cut;		/* END: the data ends inside a record */
	int32_t		from;		/* END: the format */
	uint32_t	reserved;
};
#define ZMSG_SLICE	1	/* decompressor: a slot holds the next slice */
#define ZMSG_END	2	/* decompressor: nothing more follows */
#define ZMSG_FREE	3	/* supervisor: a slot may be written again */
#define ZEND_FAILED	UINT32_MAX	/* END code: the stream could not be
					 * read (out of memory) */

/* --- supervisor state --- */
struct batch;
struct conn;

/* A task: a slice, or the rest of one, waiting for or held by a worker. */
struct task {
	struct task	*next;
	struct batch	*batch;
	uint32_t	 seq;
	uint32_t	 part;
	uint64_t	 start;
	uint32_t	 flags;
	uint32_t	 block;		/* assigned block, or NO_BLOCK */
	uint32_t	 attempts;	/* worker deaths while running it */
};
#define NO_BLOCK	UINT32_MAX

/* A finished chunk waiting to be published in order. */
struct done {
	struct done		*next;
	uint32_t		 seq;
	uint32_t		 part;
	int			 more;	/* more parts of this slice follow */
	struct chunk_desc	 d;
};

struct tenant;
struct stage;
struct chunk_writer;

struct batch {
	TAILQ_ENTRY(batch) ready_entry;	/* tenant's: slices left to cut */
	TAILQ_ENTRY(batch) conn_entry;	/* its client's batches */
	struct batch	*hnext;		/* the daemon's id hash chain */
	int		 ready;		/* on the tenant's ready list */
	struct tenant	*tenant;
	struct conn	*conn;		/* NULL once the client is gone */
	uint64_t	 id;
	int		 fd;		/* the input, as the client gave it */
	uint64_t	 size;		/* of the whole input */
	uint64_t	 range_off;	/* the range read: [range_off, */
	uint64_t	 range_end;	/* range_end), the whole input if unranged */
	int		 from;		/* enum marc_from, or -1: by content */
	int		 charset;
	int		 ordered;
	uint32_t	 state;		/* BATCH_* as in the protocol */
	uint32_t	 nslices;
	uint32_t	 next_slice;	/* next slice not yet made a task */
	uint32_t	 slices_done;
	uint32_t	 slices_failed;
	uint32_t	 in_flight;	/* tasks queued or running */
	uint32_t	 pub_seq;	/* ordered: next slice to publish */
	uint32_t	 pub_part;	/* and its next part */
	int		 counted;	/* no longer in the tenant's active count */
	struct done	*held;		/* ordered: finished, waiting for turn */
	uint64_t	 bytes_done;
	uint64_t	 records;
	uint64_t	 errors;
	uint64_t	 t_start;
	struct stage	*stage;		/* compressed: its decompressor (stage.c) */
	char		 error[128];
};

TAILQ_HEAD(batch_list, batch);

enum { BATCH_QUEUED, BATCH_RUNNING, BATCH_DONE, BATCH_FAILED,
    BATCH_CANCELLED };

/* A tenant as configured. */
struct tenant_conf {
	char		 name[MARCD_TENANT_NAME];
	uint32_t	 uids[MARCD_MAX_IDS];
	uint32_t	 nuids;
	uint32_t	 gids[MARCD_MAX_IDS];
	uint32_t	 ngids;
	size_t		 arena_size;	/* 0: the daemon's default */
	uint32_t	 max_batches;
	uint32_t	 weight;
};

struct tenant {
	char		 name[MARCD_TENANT_NAME];
	uint32_t	 index;
	const struct tenant_conf *conf;
	int64_t		 wrr;		/* smooth weighted round-robin credit */
	uint32_t	 active;	/* batches queued or running */
	struct arena	 arena;
	uint32_t	*free_blocks;	/* stack of free block indices */
	uint32_t	 nfree;
	uint8_t		*owner;		/* per block: 0 free, 1 worker, 2 conn */
	struct conn	*ring_owner[MARCD_MAX_CLIENTS];
	struct batch_list ready;	/* batches with slices left, in order */
	uint64_t	 nbatches;
	uint64_t	 records;
	uint64_t	 bytes;
	uint64_t	 errors;
};

struct conn {
	struct conn	*next;
	int		 fd;
	struct proto_rx	 rx;
	struct mbuf	 tx;		/* replies not yet written */
	struct tenant	*tenant;
	uint32_t	 ring;		/* NO_BLOCK until Hello */
	struct ring_map	 rmap;		/* its own ring, from Hello on */
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	gid_t		*groups;	/* supplementary groups (SO_PEERGROUPS) */
	int		 ngroups;
	uint64_t	 t_accept;	/* ms, to drop it if it never says Hello */
	uint64_t	 t_last;	/* ms: its last frame */
	uint32_t	*held;		/* blocks published to this client */
	uint32_t	*hpos;		/* per block: its index in held, or
					 * NO_BLOCK if this client has it not */
	uint32_t	 nheld;
	int		 more;		/* frames left for the next turn */
	struct chunk_desc *backlog;	/* descriptors the ring had no room for */
	uint32_t	 nbacklog;
	uint32_t	 backlog_cap;
	struct batch_list batches;	/* its batches not yet freed */
	struct batch	 recent[MARCD_RECENT];	/* finished, for status */
	uint32_t	 nrecent;
	int		 dead;
};

struct worker {
	pid_t		 pid;
	int		 sock;		/* supervisor's end */
	struct task	*task;		/* running, or NULL when idle */
	uint32_t	 restarts;
	uint32_t	 fails;		/* deaths in a row, for back-off */
	uint64_t	 started;	/* ms */
	uint64_t	 deadline;	/* ms: the running task must be done */
	int		 overdue;	/* killed for missing it */
	uint64_t	 respawn_at;	/* ms, for back-off */
	uint64_t	 chunks;	/* chunks it filled */
	uint64_t	 records;
	uint64_t	 bytes;
	uint64_t	 errors;
};

struct marcd {
	const char	*config_path;
	int		 workers_set, arena_set, block_set;
	const char	*socket_path;
	int		 listen_fd;
	int		 nworkers;
	size_t		 arena_size;
	uint32_t	 block_size;
	int		 foreground;
	const char	*log_path;
	uint64_t	 t0;
	uint64_t	 next_batch_serial;
	uint32_t	 id_key[4];	/* makes batch ids opaque */
	struct batch	**bhash;	/* live batches by id */
	uint32_t	 bhash_size;	/* a power of two */
	uint32_t	 nlive;
	struct tenant_conf tconf[MARCD_MAX_TENANTS];
	struct tenant	 tenants[MARCD_MAX_TENANTS];
	int		 ntenants;
	struct conn	*conns;
	struct worker	 workers[MARCD_MAX_WORKERS];
	struct task	*queue;		/* tasks waiting for a worker */
	struct task	**queue_tail;
	int		 stopping;
	uint64_t	 stop_deadline;
	int		 activated;	/* the socket came from systemd */
	uint64_t	 accept_resume;	/* ms: out of fds, listen again then */
	uint64_t	 accept_warned;	/* ms: last time we said so */
	uint32_t	 npending;	/* connections without Hello */
	uint64_t	 next_watchdog;
	uint64_t	 progress_at;	/* ms: a task last went out or came back */
	uint64_t	 task_ms;	/* deadline per task and per MiB of it */
	uint64_t	 idle_ms;	/* an attached client holding nothing and
					 * silent this long is closed */
	uint64_t	 next_status;
	uint64_t	 status_records;	/* for the STATUS= rate */
	struct stage	*stages;	/* compressed batches being staged */
};

/* log.c */
#define LOG_RATE_SLOTS	256
#define LOG_RATE_BURST	5	/* complaints of a kind per source ... */
#define LOG_RATE_MS	5000	/* ... per this many ms */
#define LOG_ESCAPED(n)	((n) * 4 + 8)	/* room log_escape needs for n */
enum { LOGR_REFUSED = 1, LOGR_RELEASE, LOGR_PENDING, LOGR_FRAME };
const char *log_escape(char *, size_t, const char *, size_t max);
int	 log_allow(uint32_t kind, uint32_t source, const char *what);
void	 log_open(const char *path, int foreground);
void	 log_reopen(void);
void	 log_worker(void);
void	 log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
uint64_t now_ms(void);

/* notify.c */
void	 notify_init(void);
void	 notify_send(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
uint64_t notify_watchdog_ms(void);
int	 notify_listen_fd(void);

/* pool.c */
int	 pool_start(struct marcd *);
void	 pool_reap(struct marcd *);
void	 pool_respawn(struct marcd *);
int	 pool_send(struct marcd *, struct worker *, struct task *);
void	 pool_result(struct marcd *, struct worker *);
void	 pool_stop(struct marcd *);
int	 pool_alive(const struct marcd *);
int	 pool_overdue(struct marcd *);
void	 pool_child_enter(pid_t parent);

/* sandbox.c */
void	 sandbox_worker(void);
void	 sandbox_probe(uint64_t file_size);

/* worker.c */
struct chunk_writer;
struct marc_freader;
struct marc_record;
void	 worker_fill(struct chunk_writer *, struct marc_freader *, size_t s,
	    size_t e, uint64_t delta, void (*shift)(struct marc_freader *,
	    struct marc_record *, uint64_t), struct wresult *);
void	 worker_main(struct marcd *, int sock) __attribute__((noreturn));

/* config.c */
int	 config_size(const char *, size_t *);
int	 config_load(struct marcd *, const char *path, int must_exist,
	    char *err, size_t errlen);
void	 config_default_tenant(struct marcd *);

/* A batch's input as submitted: the whole of it, or a range, and its format. */
struct batch_input {
	int		 fd;
	uint64_t	 size;		/* of the whole input */
	uint64_t	 range_off;
	uint64_t	 range_end;	/* <= size */
	int		 from;		/* enum marc_from, or -1: by content */
};

/* batch.c */
uint64_t batch_next_id(struct marcd *);
uint32_t batch_nslices(uint64_t range_off, uint64_t range_end);
void	 batch_slice(uint64_t range_off, uint64_t range_end, uint32_t seq,
	    uint64_t *off, uint64_t *len);
void	 batch_insert(struct marcd *, struct batch *);
void	 batch_remove(struct marcd *, struct batch *);

/* sched.c */
struct batch *sched_submit(struct marcd *, struct conn *,
	    const struct batch_input *, int charset, int ordered);
void	 sched_dispatch(struct marcd *);
void	 sched_done(struct marcd *, struct worker *, const struct wresult *);
void	 sched_worker_died(struct marcd *, struct worker *);
void	 sched_release(struct marcd *, struct conn *, uint32_t block);
void	 sched_conn_gone(struct marcd *, struct conn *);
void	 sched_cancel(struct marcd *, struct batch *);
void	 sched_maybe_free(struct marcd *, struct batch *);
void	 sched_input_failed(struct marcd *, struct batch *, uint64_t off);
void	 sched_slice_failed(struct marcd *, struct batch *, uint32_t seq,
	    uint32_t part, uint64_t off);
int	 sched_input_ok(struct marcd *, struct batch *, uint64_t off);
const struct batch *sched_recent(const struct conn *, uint64_t id);
struct batch *sched_find(struct marcd *, struct tenant *, uint64_t id);
void	 sched_init(struct marcd *);
void	 sched_free_all(struct marcd *);
void	 sched_flush_backlog(struct marcd *, struct conn *);

/* stage.c: compressed (and UTF-16) batches, decompressed by one process
 * per batch into a bounded set of slots that become ordinary tasks. */
int	 stage_detect(int fd, uint64_t size);
int	 stage_start(struct marcd *, struct batch *);
void	 stage_free(struct marcd *, struct batch *);
size_t	 stage_poll(struct marcd *, struct pollfd *);
void	 stage_events(struct marcd *, const struct pollfd *, size_t n);
int	 stage_reaped(struct marcd *, pid_t, int status);
void	 stage_wtask(const struct task *, struct wtask *, int *fd);
uint64_t stage_task_len(const struct task *);
void	 stage_part_done(struct marcd *, struct batch *, uint32_t seq,
	    uint32_t recnos, int complete);

/* unzip.c: the decompressor process (forked by stage.c). */
void	 unzip_main(int sock, int fd, int kind, uint8_t *stage,
	    uint32_t nslots, int charset, int from) __attribute__((noreturn));

/* wstage.c: a worker's side of a staged task. */
void	 wstage_run(struct marcd *, struct chunk_writer *, const uint8_t *p,
	    size_t len, const struct wtask *, struct wresult *);

/* tenant.c */
int	 tenant_init(struct tenant *, const struct tenant_conf *,
	    uint32_t index, size_t arena_size, uint32_t block_size);
int	 tenant_allows(const struct tenant *, uid_t, gid_t, const gid_t *,
	    int ngroups);
void	 tenant_free(struct tenant *);
uint32_t tenant_block_take(struct tenant *);
void	 tenant_block_put(struct tenant *, uint32_t block);
void	 tenant_block_lend(struct tenant *, uint32_t block);

/* server.c */
int	 server_listen(struct marcd *);
void	 server_accept(struct marcd *);
void	 server_read(struct marcd *, struct conn *);
void	 server_write(struct marcd *, struct conn *);
void	 server_close(struct marcd *, struct conn *);
int	 server_expire(struct marcd *);
void	 server_reply_status(struct marcd *, struct conn *,
	    const struct batch *);

#endif
