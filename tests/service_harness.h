/*
 * tests/service_harness.h: what the service tests share: a real marcd on a
 * socket in a temporary directory, its statistics, inputs made of corpus
 * records with every record's offset known, and a client loop that checks
 * each record comes back exactly once.
 *
 * Check runs each test in its own process group and kills that group when
 * the test ends, so the daemon, its workers and any client children die
 * with a failed test; tests also stop them themselves.  Used by
 * check_service, check_service_proto, check_shm_trust, check_harden and
 * check_tenants (tests/tests.am).
 */
#ifndef MARCD_TESTS_SERVICE_HARNESS_H
#define MARCD_TESTS_SERVICE_HARNESS_H

#include <sys/types.h>

#include <check.h>
#include <stdint.h>

#include "marcd/marcd.h"

#define MIB		(1024u * 1024u)
#define MAX_WORKERS	16
#define NEXT_TIMEOUT	30000	/* ms a chunk may take before it is a hang */

/* An input file and what the offline reader saw in it. */
struct input {
	char		 path[256];
	int		 fd;		/* open for the run: marcd_submit_fd */
	uint64_t	 size;
	uint64_t	*off;		/* record offsets, ascending */
	uint32_t	*sig;		/* each record's tags, hashed */
	size_t		 n;
};

/* The corpus, one file per entry, in name order. */
struct corpus {
	char	  dir[512];
	uint8_t	**data;
	size_t	 *len;
	int	  n;
};
typedef int (*corpus_pick)(const struct corpus *, int);

/* How to start a daemon: daemon_start's arguments, and more. */
struct daemon_opts {
	int		 workers;
	const char	*arena;		/* --arena-size, or NULL */
	const char	*block;		/* --block-size */
	const char	*config;	/* marcd.conf's text (--config), or NULL */
	const char	*asan;		/* added to ASAN_OPTIONS, or NULL */
	const char	*log_bad;	/* one more thing the log must not say */
};

/* A daemon started by a test. */
struct daemon {
	pid_t			pid;
	char			dir[192];
	char			sock[224];
	char			log[224];
	char			conf[224];	/* "" without a config */
	struct daemon_opts	opts;		/* as started; config in conf */
};

/* Per-worker and per-tenant numbers from marcd_stats_json. */
struct wstat {
	long		pid;
	uint64_t	chunks;		/* pieces completed, over respawns */
	uint64_t	restarts;
	int		busy;
};
struct sstat {
	int		nworkers;
	struct wstat	w[MAX_WORKERS];
	uint64_t	arena_used;	/* summed over tenants */
	uint64_t	arena_size;
	uint64_t	clients;
	uint64_t	queue_depth;
};

/* Resident memory of a process in KiB, from /proc/PID/status. */
struct mem {
	long	rss;		/* VmRSS, or -1 */
	long	anon;		/* RssAnon */
	long	file;		/* RssFile: mapped files (the batch input) */
	long	shmem;		/* RssShmem: the arena */
};

struct consume;
typedef void (*consume_hook)(struct consume *);

/* What came back of one batch, checked against the offline read. */
struct consume {
	const struct input	*in;
	uint8_t			*seen;
	uint64_t		 nrec;
	uint64_t		 dups;
	uint64_t		 unknown;
	uint64_t		 corrupt;
	uint64_t		 badsig;	/* other tags than offline */
	uint64_t		 nerr;
	uint64_t		 failed;	/* chunk-failed errors */
	uint64_t		 chunks;
	uint64_t		 sum;		/* every field byte, added up */
	uint64_t		 last_off;	/* src_off of the last chunk */
	int			 rc;		/* how marcd_next_chunk ended */
	int			 timeout_ms;	/* per chunk */
	int			 skim;		/* 1: do not read every byte */
	uint32_t		 hold;		/* chunks kept, not released */
	marcd_chunk		*held[64];
	uint32_t		 nheld;
	consume_hook		 hook;		/* after each chunk */
	void			*arg;
	int			 stop;		/* set by the hook */
};

extern char		g_root[128];	/* everything the tests write */
extern struct input	g_small;	/* the valid corpus once */
extern struct input	g_big;		/* repeated to at least big_min */

/* Processes and files. */
uint64_t	now_ms(void);
uint64_t	now_us(void);
void		sleep_ms(unsigned);
const char	*marcd_bin(void);
char		proc_state(long pid, long *ppid);
long		proc_ppid(long pid);
int		proc_children(pid_t parent, long *pids, int max);
void		proc_mem(long pid, struct mem *);
int		file_count(const char *path, const char *needle);
char		*shm_list(void);

/* The daemon. */
void		daemon_start(struct daemon *, int workers, const char *arena,
		    const char *block);
void		daemon_start_opts(struct daemon *, const struct daemon_opts *);
void		daemon_spawn(struct daemon *);
int		daemon_term(struct daemon *, unsigned ms, uint64_t *took);
void		daemon_kill(struct daemon *);
void		daemon_finish(struct daemon *);
void		log_dump(const struct daemon *);
void		log_assert_clean(const struct daemon *);
marcd_client	*client_connect(const struct daemon *);
marcd_client	*client_connect_tenant(const struct daemon *, const char *);
int		raw_connect(const struct daemon *);

/* Statistics. */
void		stats_get(marcd_client *, struct sstat *, char **jsonp);
int		stats_wait_arena_free(marcd_client *, unsigned ms,
		    struct sstat *);

/* Inputs and batches. */
int		corpus_load(struct corpus *);
void		corpus_free(struct corpus *);
int		input_build(struct input *, const char *name,
		    const struct corpus *, corpus_pick, uint64_t min);
void		input_free(struct input *);
long		input_find(const struct input *, uint64_t off);
uint32_t	rec_sig(const struct marc_record *);
void		consume_init(struct consume *, const struct input *);
void		consume_chunk(struct consume *, marcd_chunk *);
void		consume_batch(marcd_client *, uint64_t id, struct consume *);
int		consume_why(const struct consume *, char *why, size_t len);
void		consume_assert(const struct consume *, const char *what);
void		run_batch_wait(marcd_client *, const struct input *,
		    const char *what, int ms);
void		run_batch(marcd_client *, const struct input *,
		    const char *what);

/*
 * main() of a test program: skip (77) without a daemon or corpus, build
 * the inputs (big_min 0: no big input), run the suite, clean up.  A
 * program with other inputs calls harness_init, builds them and calls
 * harness_run.
 */
int		harness_main(Suite *(*make)(void), uint64_t big_min);
int		harness_init(const char *name, struct corpus *);
int		harness_run(Suite *, const char *keep);

#endif
