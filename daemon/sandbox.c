/*
 * daemon/sandbox.c: the seccomp filter a worker runs under.
 *
 * Workers parse bytes any tenant sends, so a parser bug must not become a
 * way into the system.  Once a worker has closed what it does not need
 * (pool.c), it sets no_new_privs and loads a filter that allows only
 * the calls parsing and its task socket make; any other call kills the
 * process, and the supervisor handles that like any crashed worker.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/prctl.h>

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

/*
 * The allow-list, in one place.  A library linked into the workers later
 * (a decompressor, an XML parser) adds what it calls here, with a reason.
 * Calls whose arguments matter have rules in sandbox_worker below.
 */
static const char *const sandbox_allow[] = {
	/* The task socket: a task and its batch fd in, a result out; an
	 * idle worker waits on it with a timeout to let go of its input. */
	"recvmsg", "recvfrom", "sendmsg", "sendto", "poll", "ppoll",
	/* The batch input: map it, look at its size, drop it. */
	"fstat", "lseek", "read", "pread64", "close",
	/* Memory: malloc, the input mapping, page hints; generous, as the
	 * sanitizers' allocators use them all.  mmap and mprotect are
	 * below: never a writable shared mapping. */
	"brk", "munmap", "mremap", "madvise",
	/* The XML library may seed its hash tables from the kernel's random bytes. */
	"getrandom",
	/* Time, locks, signals returning, identity. */
	"clock_gettime", "gettimeofday", "futex", "rt_sigreturn",
	"rt_sigprocmask", "restart_syscall", "sched_yield", "getpid",
	"gettid",
	/* The sanitizers' runtime: its alternate signal stack. */
	"sigaltstack",
	/* Dying: _exit, and abort() (which raises SIGABRT at itself). */
	"exit", "exit_group", "tgkill",
};

/* The test hook: the file size of a batch whose tasks make a forbidden
 * call (MARCD_TEST_SANDBOX_SIZE, read before the filter); 0: none. */
static uint64_t sandbox_probe_size;

/* Add one rule; a name this architecture lacks is skipped. */
static int
sandbox_rule(scmp_filter_ctx ctx, const char *name, unsigned n,
    const struct scmp_arg_cmp *arg)
{
	int nr;

	if ((nr = seccomp_syscall_resolve_name(name)) == __NR_SCMP_ERROR)
		return 0;
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, arg);
}

/* Load the filter; a worker that cannot be sandboxed does not run. */
void
sandbox_worker(void)
{
	const char		*e = getenv("MARCD_TEST_SANDBOX_SIZE");
	scmp_filter_ctx		 ctx;
	struct scmp_arg_cmp	 a;
	size_t			 i;
	int			 rc = 0;

	if (e != NULL)
		sandbox_probe_size = strtoull(e, NULL, 10);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		log_warn("worker: no_new_privs: %s", strerror(errno));
		_exit(WORKER_EXIT_SETUP);
	}
	/*
	 * Under systemd's own filter the seccomp() call is refused, so
	 * libseccomp cannot ask whether the kernel kills whole processes;
	 * killing the thread is the same for a one-thread worker, and the
	 * filter is then loaded through prctl().
	 */
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL &&
	    (ctx = seccomp_init(SCMP_ACT_KILL)) == NULL) {
		log_warn("worker: seccomp_init failed");
		_exit(WORKER_EXIT_SETUP);
	}
	for (i = 0; rc == 0 && i < sizeof(sandbox_allow) /
	    sizeof(sandbox_allow[0]); i++)
		rc = sandbox_rule(ctx, sandbox_allow[i], 0, NULL);
	/* write and writev: stdout and stderr only (sanitizer reports). */
	a = SCMP_A0(SCMP_CMP_LE, STDERR_FILENO);
	if (rc == 0)
		rc = sandbox_rule(ctx, "write", 1, &a);
	if (rc == 0)
		rc = sandbox_rule(ctx, "writev", 1, &a);
	/* newfstatat: fstat of an fd (glibc's fstat), never of a path. */
	a = SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH);
	if (rc == 0)
		rc = sandbox_rule(ctx, "newfstatat", 1, &a);
	/* mmap: a private or anonymous mapping, or any read-only one
	 * (MAP_SHARED_VALIDATE has the MAP_SHARED bit). */
	a = SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_SHARED, 0);
	if (rc == 0)
		rc = sandbox_rule(ctx, "mmap", 1, &a);
	a = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_WRITE, 0);
	if (rc == 0)
		rc = sandbox_rule(ctx, "mmap", 1, &a);
	/* mprotect: never to make a page writable (a shared input mapping
	 * would then write the client's file). */
	if (rc == 0)
		rc = sandbox_rule(ctx, "mprotect", 1, &a);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		log_warn("worker: cannot load the seccomp filter: %s",
		    strerror(-rc));
		_exit(WORKER_EXIT_SETUP);
	}
}

/* The test hook: a task of the probe batch makes a call the filter
 * forbids, as a parser taken over would. */
void
sandbox_probe(uint64_t file_size)
{
	int fd;

	if (sandbox_probe_size == 0 || file_size != sandbox_probe_size)
		return;
	if ((fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC)) >= 0)
		close(fd);
}
