/*
 * daemon/pool.c: the worker pool, the supervisor's side of the workers:
 * forking, feeding, reaping, killing overdue ones and respawning them.  The
 * worker process itself (the child's side) is daemon/worker.c.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "fdpass.h"

/* What every child of the supervisor does once its fds are in place:
 * log as a child, die with its parent, default signals, then the sandbox. */
void
pool_child_enter(pid_t parent)
{
	sigset_t	set;

	log_worker();
	/* A supervisor killed outright takes its workers along. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(WORKER_EXIT_DONE);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	sandbox_worker();
}

/* Fork one worker into slot i with a fresh socket pair. */
static int
worker_spawn(struct marcd *m, int i)
{
	struct worker	*w = &m->workers[i];
	struct conn	*c;
	int		 sv[2];
	pid_t		 pid;

	pid_t		 parent = getpid();

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		/*
		 * The worker keeps stdio, its socket as fd 3 and the arena
		 * mappings (a mapping outlives its fd), not the clients' rings;
		 * every other fd goes:
		 * the listening socket, clients, other workers, the signalfd,
		 * the arena memfds, the log file and the batch inputs.  The
		 * inputs it needs come with each task.
		 */
		for (c = m->conns; c != NULL; c = c->next)
			ring_unmap(&c->rmap);
		if (sv[1] != WORKER_SOCK_FD &&
		    dup2(sv[1], WORKER_SOCK_FD) != WORKER_SOCK_FD)
			_exit(WORKER_EXIT_SETUP);
		if (close_range(WORKER_SOCK_FD + 1, ~0u, 0) != 0)
			_exit(WORKER_EXIT_SETUP);
		pool_child_enter(parent);
		worker_main(m, WORKER_SOCK_FD);
	}
	close(sv[1]);
	w->overdue = 0;
	w->started = now_ms();
	w->pid = pid;
	w->sock = sv[0];
	w->task = NULL;
	return 0;
}

/* Start all workers; a failure here is fatal to start-up. */
int
pool_start(struct marcd *m)
{
	int i;

	for (i = 0; i < m->nworkers; i++)
		m->workers[i].sock = -1;
	for (i = 0; i < m->nworkers; i++)
		if (worker_spawn(m, i) != 0)
			return -1;
	return 0;
}

/* Count live workers (for stats and READY). */
int
pool_alive(const struct marcd *m)
{
	int i, n = 0;

	for (i = 0; i < m->nworkers; i++)
		if (m->workers[i].pid > 0)
			n++;
	return n;
}

/* What a worker's exit status means, for the log. */
const char *
worker_exit_name(int status)
{
	switch (status) {
	case WORKER_EXIT_DONE:
		return "done";
	case WORKER_EXIT_SETUP:
		return "set-up failed";
	case WORKER_EXIT_TASK:
		return "task failed";
	}
	return "unknown";
}

/* Reap dead workers: log, give their task back, plan a respawn. */
void
pool_reap(struct marcd *m)
{
	struct worker	*w;
	pid_t		 pid;
	int		 status, i;
	uint64_t	 delay;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < m->nworkers; i++)
			if (m->workers[i].pid == pid)
				break;
		if (i == m->nworkers) {
			(void)stage_reaped(m, pid, status);
			continue;
		}
		w = &m->workers[i];
		if (WIFSIGNALED(status))
			log_warn("worker %d (pid %ld) killed by signal %d%s", i,
			    (long)pid, WTERMSIG(status),
			    w->task ? " during a task" : "");
		else
			log_warn("worker %d (pid %ld) exited with status %d (%s)",
			    i, (long)pid, WEXITSTATUS(status),
			    worker_exit_name(WEXITSTATUS(status)));
		if (w->sock >= 0)
			close(w->sock);
		w->sock = -1;
		w->pid = 0;
		sched_worker_died(m, w);
		if (m->stopping)
			continue;
		w->restarts++;
		/* Back off on deaths in a row; a worker that ran a while
		 * starts the count again. */
		if (now_ms() - w->started > 10000)
			w->fails = 0;
		w->fails++;
		delay = w->fails > 6 ? 5000 : (50ULL << (w->fails - 1));
		if (delay > 5000)
			delay = 5000;
		w->respawn_at = now_ms() + delay;
	}
}

/* Respawn workers whose back-off has passed. */
void
pool_respawn(struct marcd *m)
{
	uint64_t	now;
	int		i;

	if (m->stopping)
		return;
	now = now_ms();
	for (i = 0; i < m->nworkers; i++) {
		if (m->workers[i].pid != 0 || now < m->workers[i].respawn_at)
			continue;
		if (worker_spawn(m, i) != 0) {
			log_warn("cannot respawn worker %d: %s", i,
			    strerror(errno));
			m->workers[i].respawn_at = now + 1000;
		} else
			log_info("worker %d respawned (pid %ld)", i,
			    (long)m->workers[i].pid);
	}
}

/* How long a task may take: proportional to the input it covers, so a
 * worker that stops (a hang, SIGSTOP) is noticed in a bounded time. */
static uint64_t
task_deadline(const struct marcd *m, const struct task *t)
{
	uint64_t	off, len, end;

	batch_slice(t->batch->range_off, t->batch->range_end, t->seq, &off,
	    &len);
	end = off + len;
	len = end > t->start ? end - t->start : 0;
	if (t->flags & TASK_STAGED)
		len = stage_task_len(t);
	return m->task_ms + m->task_ms * ((len + (1u << 20) - 1) >> 20);
}

/*
 * Kill workers past their task's deadline: reaped, they are handled like
 * crashed ones (the task retried, then chunk-failed).  Returns the ms until
 * the next deadline, at most 1000.
 */
int
pool_overdue(struct marcd *m)
{
	struct worker	*w;
	uint64_t	 now = now_ms();
	int		 i, next = 1000;

	for (i = 0; i < m->nworkers; i++) {
		w = &m->workers[i];
		if (w->pid <= 0 || w->task == NULL || w->overdue)
			continue;
		if (now < w->deadline) {
			if (w->deadline - now < (uint64_t)next)
				next = (int)(w->deadline - now);
			continue;
		}
		log_warn("worker %d (pid %ld) made no progress on batch %llu "
		    "slice %u for %llu ms; killing it", i, (long)w->pid,
		    (unsigned long long)w->task->batch->id, w->task->seq,
		    (unsigned long long)(now - w->deadline +
		    task_deadline(m, w->task)));
		w->overdue = 1;
		kill(w->pid, SIGKILL);
	}
	return next;
}

/* Send a task with the batch's fd attached. */
int
pool_send(struct marcd *m, struct worker *w, struct task *t)
{
	struct wtask	 wt;
	int		 fd = t->batch->fd;

	memset(&wt, 0, sizeof(wt));
	wt.magic = WMSG_MAGIC;
	wt.tenant = t->batch->tenant->index;
	wt.batch_id = t->batch->id;
	wt.file_size = t->batch->size;
	wt.start = t->start;
	wt.seq = t->seq;
	wt.block = t->block;
	wt.charset = t->batch->charset;
	wt.flags = t->flags;
	wt.range_off = t->batch->range_off;
	wt.range_end = t->batch->range_end;
	wt.from = t->batch->from;
	if (t->flags & TASK_STAGED)
		stage_wtask(t, &wt, &fd);
	if (fdpass_send(w->sock, &wt, sizeof(wt), &fd, 1,
	    MSG_NOSIGNAL) != (ssize_t)sizeof(wt))
		return -1;
	w->task = t;
	m->progress_at = now_ms();
	w->deadline = m->progress_at + task_deadline(m, t);
	return 0;
}

/* Read a worker's result and hand it to the scheduler. */
void
pool_result(struct marcd *m, struct worker *w)
{
	struct wresult	res;
	ssize_t		n;

	n = recv(w->sock, &res, sizeof(res), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != (ssize_t)sizeof(res) || res.magic != WMSG_MAGIC) {
		/* EOF or nonsense: the worker is dying; SIGCHLD will tell. */
		close(w->sock);
		w->sock = -1;
		if (w->pid > 0)
			kill(w->pid, SIGKILL);
		return;
	}
	m->progress_at = now_ms();
	sched_done(m, w, &res);
}

/* Stop all workers: SIGTERM, a short wait, then SIGKILL. */
void
pool_stop(struct marcd *m)
{
	uint64_t	deadline = now_ms() + 500;
	int		i, alive, status;

	for (i = 0; i < m->nworkers; i++) {
		if (m->workers[i].sock >= 0) {
			close(m->workers[i].sock);
			m->workers[i].sock = -1;
		}
		if (m->workers[i].pid > 0)
			kill(m->workers[i].pid, SIGTERM);
	}
	for (;;) {
		alive = 0;
		for (i = 0; i < m->nworkers; i++) {
			if (m->workers[i].pid <= 0)
				continue;
			if (waitpid(m->workers[i].pid, &status, WNOHANG) ==
			    m->workers[i].pid)
				m->workers[i].pid = 0;
			else
				alive++;
		}
		if (alive == 0)
			break;
		if (now_ms() >= deadline) {
			for (i = 0; i < m->nworkers; i++)
				if (m->workers[i].pid > 0) {
					kill(m->workers[i].pid, SIGKILL);
					waitpid(m->workers[i].pid, &status, 0);
					m->workers[i].pid = 0;
				}
			break;
		}
		usleep(10000);
	}
}
