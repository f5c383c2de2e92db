/*
 * daemon/config.c: /etc/marcd/marcd.conf, read with libinih.
 *
 *   [marcd]
 *   socket = /run/marcd/marcd.sock
 *   workers = 4
 *   block_size = 4M
 *   log = /var/log/marcd.log
 *
 *   [tenant:catalogue]
 *   uids = 1001, 1002          ; users allowed to attach (names or numbers)
 *   gids = 2000                ; groups allowed (names or numbers)
 *   arena_size = 256M          ; the tenant's shared memory (its quota)
 *   max_batches = 8            ; batches queued or running at once
 *   weight = 2                 ; share of the workers when tenants compete
 *
 * Command-line options win over the [marcd] section.  Every error names the
 * file and line; a bad config stops start-up (the only time marcd exits on
 * an error).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

struct cfg_ctx {
	struct marcd	*m;
	const char	*path;
	char		 err[256];
	int		 lineno;
};

/* Parse 256M, 4m, 1G, 65536 (also used for the command line). */
int
config_size(const char *s, size_t *out)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i')
		end++;
	if (*end == 'B')
		end++;
	if (*end != '\0' || v == 0)
		return -1;
	*out = (size_t)v;
	return 0;
}

/* A list of users or groups, by name or number, comma or space separated. */
static int
config_ids(const char *val, uint32_t *ids, uint32_t *n, int groups)
{
	char		 buf[1024], *tok, *save = NULL, *end;
	struct passwd	*pw;
	struct group	*gr;
	unsigned long	 v;

	if (strlen(val) >= sizeof(buf))
		return -1;
	strcpy(buf, val);
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (*n >= MARCD_MAX_IDS)
			return -1;
		v = strtoul(tok, &end, 10);
		if (*end == '\0' && end != tok)
			ids[(*n)++] = (uint32_t)v;
		else if (!groups && (pw = getpwnam(tok)) != NULL)
			ids[(*n)++] = pw->pw_uid;
		else if (groups && (gr = getgrnam(tok)) != NULL)
			ids[(*n)++] = gr->gr_gid;
		else
			return -1;
	}
	return 0;
}

/* Tenant names travel in Hello: keep them short and plain. */
static int
config_name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= MARCD_TENANT_NAME)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

/* The tenant a [tenant:NAME] section describes, created on first sight. */
static struct tenant_conf *
config_tenant(struct marcd *m, const char *name)
{
	int i;

	for (i = 0; i < m->ntenants; i++)
		if (strcmp(m->tconf[i].name, name) == 0)
			return &m->tconf[i];
	if (m->ntenants == MARCD_MAX_TENANTS)
		return NULL;
	memset(&m->tconf[m->ntenants], 0, sizeof(m->tconf[0]));
	snprintf(m->tconf[m->ntenants].name, MARCD_TENANT_NAME, "%s", name);
	m->tconf[m->ntenants].arena_size = 0;
	m->tconf[m->ntenants].max_batches = 64;
	m->tconf[m->ntenants].weight = 1;
	return &m->tconf[m->ntenants++];
}

/* One name = value line. */
static int
config_line(void *user, const char *section, const char *name,
    const char *value)
{
	struct cfg_ctx		*cx = user;
	struct marcd		*m = cx->m;
	struct tenant_conf	*t;
	size_t			 sz;
	char			*end;
	long			 v;

#define BAD(...) do { snprintf(cx->err, sizeof(cx->err), __VA_ARGS__); \
	return 0; } while (0)
	if (strcmp(section, "marcd") == 0) {
		if (strcmp(name, "socket") == 0) {
			if (m->socket_path == NULL)
				m->socket_path = strdup(value);
		} else if (strcmp(name, "workers") == 0) {
			v = strtol(value, &end, 10);
			if (*end || v < 1 || v > MARCD_MAX_WORKERS)
				BAD("workers must be 1-%d", MARCD_MAX_WORKERS);
			if (!m->workers_set)
				m->nworkers = (int)v;
		} else if (strcmp(name, "block_size") == 0) {
			if (config_size(value, &sz) != 0 || sz < 65536 ||
			    sz > (1u << 30) || sz % 4096)
				BAD("bad block_size '%s'", value);
			if (!m->block_set)
				m->block_size = (uint32_t)sz;
		} else if (strcmp(name, "arena_size") == 0) {
			if (config_size(value, &sz) != 0)
				BAD("bad arena_size '%s'", value);
			if (!m->arena_set)
				m->arena_size = sz;
		} else if (strcmp(name, "log") == 0) {
			if (m->log_path == NULL)
				m->log_path = strdup(value);
		} else
			BAD("unknown setting '%s' in [marcd]", name);
		return 1;
	}
	if (strncmp(section, "tenant:", 7) != 0)
		BAD("unknown section [%s] (want [marcd] or [tenant:NAME])",
		    section);
	if (!config_name_ok(section + 7))
		BAD("bad tenant name '%s' (letters, digits, - _ . only)",
		    section + 7);
	if ((t = config_tenant(m, section + 7)) == NULL)
		BAD("more than %d tenants", MARCD_MAX_TENANTS);
	if (strcmp(name, "uids") == 0 || strcmp(name, "users") == 0) {
		if (config_ids(value, t->uids, &t->nuids, 0) != 0)
			BAD("bad user list '%s'", value);
	} else if (strcmp(name, "gids") == 0 || strcmp(name, "groups") == 0) {
		if (config_ids(value, t->gids, &t->ngids, 1) != 0)
			BAD("bad group list '%s'", value);
	} else if (strcmp(name, "arena_size") == 0) {
		if (config_size(value, &t->arena_size) != 0)
			BAD("bad arena_size '%s'", value);
	} else if (strcmp(name, "max_batches") == 0) {
		v = strtol(value, &end, 10);
		if (*end || v < 1 || v > 1000000)
			BAD("max_batches must be 1-1000000");
		t->max_batches = (uint32_t)v;
	} else if (strcmp(name, "weight") == 0) {
		v = strtol(value, &end, 10);
		if (*end || v < 1 || v > 1000)
			BAD("weight must be 1-1000");
		t->weight = (uint32_t)v;
	} else
		BAD("unknown setting '%s' in [%s]", name, section);
	return 1;
#undef BAD
}

/*
 * Read the config file into m.  Returns 0, or -1 with a message in err.
 * A missing file is an error only when it was named on the command line.
 */
int
config_load(struct marcd *m, const char *path, int must_exist, char *err,
    size_t errlen)
{
	struct cfg_ctx	cx;
	int		rc;

	memset(&cx, 0, sizeof(cx));
	cx.m = m;
	cx.path = path;
	if (access(path, F_OK) != 0) {
		if (!must_exist)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = ini_parse(path, config_line, &cx);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot read it", path);
		return -1;
	}
	if (rc > 0) {
		snprintf(err, errlen, "%s:%d: %s", path, rc,
		    cx.err[0] ? cx.err : "syntax error");
		return -1;
	}
	m->config_path = path;
	return 0;
}

/* No tenants configured: one for the user who started the daemon. */
void
config_default_tenant(struct marcd *m)
{
	struct tenant_conf *t;

	if (m->ntenants != 0)
		return;
	t = config_tenant(m, "default");
	t->uids[t->nuids++] = (uint32_t)getuid();
	if (getuid() != 0)
		t->uids[t->nuids++] = 0;
}
