/*
 * marcd/marcd.h: public interface of libmarcd, the client of the marcd
 * daemon.
 *
 * A client connects to the daemon's socket, submits batches (files, fds or
 * buffers of records: ISO 2709, MARCXML, MARC-in-JSON or MARC mnemonic
 * text, or a byte range of a file of them) and takes the parsed records back as chunks
 * in shared memory, with no copies.  The MARC record view, reader and error
 * codes are in marcd/marc.h.
 *
 * Thread safety: functions may be called from several threads on distinct
 * marcd_client objects.  One marcd_client, and the chunks taken from it,
 * must be used by one thread at a time (lock around it if you share it).
 *
 * Errors: functions return 0 or a positive count on success and a negative
 * MARCD_E_* code on failure; marcd_strerror() describes a code, and
 * marcd_last_error() gives the daemon's own text for the last failure.
 */
#ifndef MARCD_MARCD_H
#define MARCD_MARCD_H

#include <stddef.h>
#include <stdint.h>

#include "marcd/marc.h"
#include "marcd/version.h"

#ifdef __cplusplus
extern "C" {
#endif

enum marcd_err {
	MARCD_OK = 0,
	MARCD_E_SYSTEM = -1,	/* a system call failed; see errno */
	MARCD_E_CONNECT = -2,	/* no daemon at the socket */
	MARCD_E_PROTOCOL = -3,	/* the daemon said something unexpected */
	MARCD_E_SERVICE = -4,	/* the daemon refused; see marcd_last_error */
	MARCD_E_CORRUPT = -5,	/* shared memory failed a bounds check */
	MARCD_E_NOMEM = -6,
	MARCD_E_CLOSED = -7,	/* the daemon went away or is stopping */
	MARCD_E_TIMEOUT = -8,
	MARCD_E_INVALID = -9,	/* bad argument */
	MARCD_E_NOBATCH = -10,	/* no such batch */
	MARCD_E_ORDER = -11,	/* waiting for a batch while every block is
				 * held for batches submitted before it */
};

typedef struct marcd_client marcd_client;
typedef struct marcd_chunk marcd_chunk;

/* The input's format (struct marcd_submit_opts.from). */
enum marcd_from {
	MARCD_FROM_DETECT = 0,	/* by the first bytes of the whole input */
	MARCD_FROM_ISO2709 = 1,
	MARCD_FROM_MARCXML = 2,
	MARCD_FROM_MARCJSON = 3,	/* MARC-in-JSON, JSON Lines too */
	MARCD_FROM_MRK = 4,		/* MarcEdit mnemonic text */
};

/* Options of a submission; all zero is sensible (but unordered: set
 * ordered for record numbers).  Members are only ever added at the end. */
struct marcd_submit_opts {
	int		 charset;	/* enum marc_charset */
	int		 ordered;	/* deliver chunks in file order */
	const char	*name;		/* shown in logs and stats */
	int		 from;		/* enum marcd_from; 0 detects */
};

struct marcd_batch_status {
	uint64_t	batch_id;
	uint32_t	state;		/* 0 queued 1 running 2 done 3 failed 4 cancelled */
	uint64_t	bytes_total;
	uint64_t	bytes_done;
	uint32_t	slices_total;
	uint32_t	slices_done;
	uint32_t	slices_failed;
	uint64_t	records;
	uint64_t	errors;
	char		error[128];
};

/* Version of the library actually loaded, e.g. "0.1.0". */
const char	*marcd_version(void);
/* What an error code means. */
const char	*marcd_strerror(int err);
/* The daemon's text for the last MARCD_E_SERVICE (or other) failure; with
 * NULL, why this thread's last marcd_connect failed. */
const char	*marcd_last_error(const marcd_client *);
/* The socket the daemon listens on by default. */
const char	*marcd_default_socket(void);

/* Connect and attach the tenant's arena (NULL socket: the default; NULL
 * tenant: the daemon's default tenant). */
int	marcd_connect(const char *socket_path, const char *tenant,
	    marcd_client **out);
/* Release everything and disconnect. */
void	marcd_close(marcd_client *);

/* Submit a batch; the daemon reads the fd (dup'ed here, yours to close). */
int	marcd_submit_fd(marcd_client *, int fd,
	    const struct marcd_submit_opts *, uint64_t *batch_id);
/* Submit a file by path (opened here; the daemon never opens paths). */
int	marcd_submit_file(marcd_client *, const char *path,
	    const struct marcd_submit_opts *, uint64_t *batch_id);
/* Submit bytes in memory (copied into a memfd when large). */
int	marcd_submit_buffer(marcd_client *, const void *buf, size_t len,
	    const struct marcd_submit_opts *, uint64_t *batch_id);
/*
 * Submit a byte range of a file or memfd (dup'ed, yours to close): the
 * batch holds exactly the records whose first byte lies in [offset,
 * offset + length), read as `marcctl dump --range` reads them, so the
 * batches of any cut of a file hold each of its records once.  Record
 * numbers (ordered batches) count from the range's first record; offsets
 * (marcd_chunk_source, errors) stay offsets in the whole file.  length 0
 * means to the end of the file; a range running past the end stops there.
 * An offset past the end of the file is refused: MARCD_E_SERVICE.
 */
int	marcd_submit_range(marcd_client *, int fd, uint64_t offset,
	    uint64_t length, const struct marcd_submit_opts *,
	    uint64_t *batch_id);

/*
 * Take the next chunk of a batch, waiting up to timeout_ms (-1: as long as
 * it takes) asleep on the connection's ring, never spinning.  Returns 1
 * with *out set, 0 when the batch has no more chunks, or a negative code.
 * Batches submitted on one client are delivered in submission order: take
 * them in that order.  Waiting for a later batch while this client holds
 * every block of the arena (chunks of earlier batches queued for them, and
 * chunks not yet released) could only wait for ever: that is
 * MARCD_E_ORDER, at once.
 * A chunk whose number repeats or skips one is MARCD_E_CORRUPT.
 */
int	marcd_next_chunk(marcd_client *, uint64_t batch_id, int timeout_ms,
	    marcd_chunk **out);
/* Give a chunk's memory back to the daemon; its records become invalid. */
void	marcd_chunk_release(marcd_client *, marcd_chunk *);

/* Records in a chunk. */
uint32_t	marcd_chunk_records(const marcd_chunk *);
/* Record i of a chunk as a view (valid until the chunk is released). */
int	marcd_chunk_record(marcd_chunk *, uint32_t i, struct marc_record *);
/* Record i's 24-byte leader in shared memory (leader/09 'a'), or NULL if
 * out of range: for readers that route or filter on it before, or instead
 * of, marcd_chunk_record.  The bytes are the daemon's: check before use. */
const uint8_t	*marcd_chunk_leader(const marcd_chunk *, uint32_t i);
/* Errors of a chunk, in input order; recno counts from the batch start
 * when the batch is ordered (else 0). */
uint32_t	marcd_chunk_nerrors(const marcd_chunk *);
int	marcd_chunk_error(const marcd_chunk *, uint32_t j, struct marc_error *);
/* The errors of record i: index of the first, how many, and how many more
 * there were beyond those kept (counted only). */
int	marcd_chunk_record_errors(marcd_chunk *, uint32_t i, uint32_t *first,
	    uint32_t *n, uint32_t *lost);
/* The chunk's block in shared memory, for zero-copy readers (Python). */
const uint8_t	*marcd_chunk_block(const marcd_chunk *, uint32_t *size);
/* Where the chunk's input lies in the batch: offset and length in bytes. */
int	marcd_chunk_source(const marcd_chunk *, uint64_t *off, uint64_t *len);
/* 1-based number of the chunk's first record within the batch (ordered). */
uint64_t	marcd_chunk_first_recno(const marcd_chunk *);

/* Status of a batch (any batch of the tenant). */
int	marcd_batch_status(marcd_client *, uint64_t batch_id,
	    struct marcd_batch_status *);
/* Stop a batch: no further chunks are parsed, and the chunks already
 * parsed but not taken go back to the daemon (this call does not wait for
 * them).  marcd_next_chunk on it then returns 0. */
int	marcd_cancel(marcd_client *, uint64_t batch_id);
/* The tenant's arena as mapped: its size, block size and block count.  A
 * reader holding more chunks than blocks/2 can starve its own batches. */
int	marcd_arena_info(const marcd_client *, uint64_t *size,
	    uint32_t *block_size, uint32_t *nblocks);
struct marcd_worker_stats {
	uint32_t	id;
	int32_t		pid;
	uint64_t	chunks;
	uint64_t	records;
	uint64_t	bytes;
	uint64_t	errors;
	uint32_t	restarts;
	int		busy;
};

struct marcd_tenant_stats {
	char		name[64];
	uint64_t	batches;
	uint64_t	records;
	uint64_t	bytes;
	uint64_t	errors;
	uint64_t	arena_size;
	uint64_t	arena_used;
	uint32_t	queue_depth;	/* chunks waiting for a worker */
	uint32_t	clients;
	double		records_per_sec;	/* since the daemon started */
};

struct marcd_stats {
	uint64_t			 uptime_ms;
	uint32_t			 nworkers;
	uint32_t			 ntenants;	/* yours; all for root */
	struct marcd_worker_stats	*workers;
	struct marcd_tenant_stats	*tenants;
};

/* The daemon's statistics; free with marcd_stats_free. */
int	marcd_stats(marcd_client *, struct marcd_stats **out);
void	marcd_stats_free(struct marcd_stats *);
/* The same as a JSON object (free() it). */
int	marcd_stats_json(marcd_client *, char **json);

/* Record accessors for callers that do not want to walk struct fields. */
/* Index of the first field with this tag at or after `from`, or -1. */
int	marcd_record_find(const struct marc_record *, const char *tag,
	    uint32_t from);
/* Data of field i (indicators first for data fields). */
int	marcd_record_field(const struct marc_record *, uint32_t i,
	    const uint8_t **data, size_t *len);
/* Raw ISO 2709 bytes of the record (UTF-8 for records from the daemon). */
int	marcd_record_raw(const struct marc_record *, const uint8_t **data,
	    size_t *len);

#ifdef __cplusplus
}
#endif

#endif
