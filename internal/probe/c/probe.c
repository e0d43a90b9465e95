/*
 * probe: report the process state this program inherited across execve as
 * one JSON object (see ../probe.go for the schema and the Go parser).
 *
 * It is C rather than Go because the Go runtime changes signal dispositions
 * and the signal mask at startup. It is linked statically so that it runs in
 * an empty chroot or mount namespace.
 *
 * The probe's own behaviour is controlled only by environment variables
 * (argv is under test):
 *   SPAWN_PROBE_OUT=path        write the JSON to path instead of stdout
 *   SPAWN_PROBE_WRITE=fd:text,.. write text to each fd after collecting state
 *   SPAWN_PROBE_READ=fd         read fd until EOF; reported as "read"
 *   SPAWN_PROBE_SLEEP=seconds   sleep after reporting
 *   SPAWN_PROBE_KILL=signo      after reporting, kill itself with signo
 *   SPAWN_PROBE_EXIT=code       exit status (default 0)
 * A malformed variable or a failure to write the report exits with 125.
 *
 * Every file the probe opens is closed before the next one is opened and
 * before the fd list is read, so none of them appears in "fds".
 *
 * Build: cc -static -O2 -Wall -Wextra -Werror -o probe probe.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

extern char **environ;

/* ---- fatal errors and non-fatal notes ---- */

static void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dprintf(2, "probe: "); /* best effort: stderr may be closed */
	vdprintf(2, fmt, ap);
	dprintf(2, "\n");
	va_end(ap);
	_exit(125);
}

/* Non-fatal problems are reported in the "errors" array. */
static char notes[16][256];
static int nnotes;

static void note(const char *fmt, ...)
{
	if (nnotes == 16)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(notes[nnotes++], sizeof notes[0], fmt, ap);
	va_end(ap);
}

/* ---- the JSON output buffer ---- */

static char *out;
static size_t olen, ocap;
static int first = 1; /* nothing emitted yet at the current nesting level */

static void put(const char *s, size_t n)
{
	if (olen + n > ocap) {
		while (olen + n > ocap)
			ocap = ocap ? 2 * ocap : 16384;
		if (!(out = realloc(out, ocap)))
			fatal("out of memory");
	}
	memcpy(out + olen, s, n);
	olen += n;
}

static void putf(const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	put(tmp, n);
}

/* jstr emits s[0:n] as a JSON string. Bytes >= 0x80 pass through as-is. */
static void jstr(const char *s, size_t n)
{
	size_t run = 0; /* start of the pending run of plain bytes */
	put("\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(s + run, i - run);
		if (c < 0x20)
			putf("\\u%04x", c);
		else
			put(c == '"' ? "\\\"" : "\\\\", 2);
		run = i + 1;
	}
	put(s + run, n - run);
	put("\"", 1);
}

static void sep(void)
{
	if (!first)
		put(",", 1);
	first = 0;
}

static void key(const char *k)
{
	sep();
	jstr(k, strlen(k));
	put(":", 1);
}

/* begin starts an object or array, as member k or (k == NULL) as element. */
static void begin(const char *k, char c)
{
	if (k)
		key(k);
	else
		sep();
	put(&c, 1);
	first = 1;
}

static void end(char c)
{
	put(&c, 1);
	first = 0;
}

static void estr(const char *s) { sep(); jstr(s, strlen(s)); }
static void kint(const char *k, long long v) { key(k); putf("%lld", v); }
static void kuint(const char *k, unsigned long long v) { key(k); putf("%llu", v); }
static void kstr(const char *k, const char *s) { key(k); jstr(s, strlen(s)); }
static void kbool(const char *k, int v) { key(k); put(v ? "true" : "false", v ? 4 : 5); }

/* ---- reading /proc ---- */

/* slurp reads a whole file into b, NUL-terminated; the fd is closed again. */
static ssize_t slurp(const char *path, char *b, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n < cap - 1) {
		ssize_t r = read(fd, b + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	b[n] = 0;
	return n;
}

static char lbuf[PATH_MAX + 1];

/* rdlink returns the target of a symlink (in a static buffer) or NULL. */
static const char *rdlink(const char *path)
{
	ssize_t n = readlink(path, lbuf, sizeof lbuf - 1);
	if (n < 0)
		return NULL;
	lbuf[n] = 0;
	return lbuf;
}

static char status[16384];

/* kstatus emits the "Name:" line of /proc/self/status parsed in base. */
static void kstatus(const char *k, const char *name, int base)
{
	size_t n = strlen(name);
	for (const char *p = status; *p; p++) {
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			kuint(k, strtoull(p + n + 1, NULL, base));
			return;
		}
		if (!(p = strchr(p, '\n')))
			break;
	}
	note("no %s line in /proc/self/status", name);
}

static int cmpint(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* fds lists the open fds: the /proc/self/fd fd is closed before inspecting. */
static void fds(void)
{
	static char d[8192] __attribute__((aligned(8)));
	int list[4096], n = 0;
	int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		note("open /proc/self/fd: %s", strerror(errno));
		return;
	}
	ssize_t r;
	while ((r = getdents64(dfd, d, sizeof d)) > 0) {
		for (ssize_t off = 0; off < r;) {
			struct dirent64 *e = (struct dirent64 *)(d + off);
			off += e->d_reclen;
			if (e->d_name[0] == '.' || atoi(e->d_name) == dfd)
				continue;
			if (n < 4096)
				list[n] = atoi(e->d_name);
			n++;
		}
	}
	close(dfd);
	if (n > 4096) {
		note("%d fds open; listing only 4096", n);
		n = 4096;
	}
	qsort(list, n, sizeof list[0], cmpint);
	begin("fds", '[');
	for (int i = 0; i < n; i++) {
		char path[64];
		struct stat st;
		int fdflags = fcntl(list[i], F_GETFD);
		if (fdflags < 0 || fstat(list[i], &st) < 0)
			continue;
		snprintf(path, sizeof path, "/proc/self/fd/%d", list[i]);
		const char *target = rdlink(path);
		begin(NULL, '{');
		kint("num", list[i]);
		kstr("target", target ? target : "");
		kint("flags", fcntl(list[i], F_GETFL));
		kbool("cloexec", fdflags & FD_CLOEXEC);
		kuint("dev", st.st_dev);
		kuint("ino", st.st_ino);
		kuint("mode", st.st_mode);
		end('}');
	}
	end(']');
}

static const struct { const char *name; int res; } rlimits[] = {
	{"as", RLIMIT_AS}, {"core", RLIMIT_CORE}, {"cpu", RLIMIT_CPU},
	{"data", RLIMIT_DATA}, {"fsize", RLIMIT_FSIZE}, {"locks", RLIMIT_LOCKS},
	{"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE},
	{"nice", RLIMIT_NICE}, {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC},
	{"rss", RLIMIT_RSS}, {"rtprio", RLIMIT_RTPRIO}, {"rttime", RLIMIT_RTTIME},
	{"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK},
};

static const char *const namespaces[] = {
	"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children",
	"time", "time_for_children", "user", "uts",
};

static void affinity(void)
{
	begin("affinity", '[');
	for (size_t ncpu = 1024; ncpu <= (1 << 20); ncpu *= 2) {
		cpu_set_t *set = CPU_ALLOC(ncpu);
		size_t size = CPU_ALLOC_SIZE(ncpu);
		int ok = set && sched_getaffinity(0, size, set) == 0;
		int again = !ok && errno == EINVAL;
		for (size_t i = 0; ok && i < ncpu; i++)
			if (CPU_ISSET_S(i, size, set)) {
				sep();
				putf("%zu", i);
			}
		CPU_FREE(set);
		if (!again)
			break;
	}
	end(']');
}

/* envint parses an integer environment variable; def if it is unset. */
static long envint(const char *name, long def)
{
	const char *v = getenv(name);
	char *endp;
	if (!v)
		return def;
	errno = 0;
	long n = strtol(v, &endp, 10);
	if (errno || endp == v || *endp)
		fatal("bad %s=%s", name, v);
	return n;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		p += r;
		n -= r;
	}
	return 0;
}

/* writes performs SPAWN_PROBE_WRITE="fd:text,fd:text". */
static void writes(const char *spec)
{
	char *s = strdup(spec), *save = NULL;
	for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon;
		long fd = strtol(tok, &colon, 10);
		if (colon == tok || *colon != ':')
			fatal("bad SPAWN_PROBE_WRITE entry %s", tok);
		if (write_all(fd, colon + 1, strlen(colon + 1)) < 0)
			note("write fd %ld: %s", fd, strerror(errno));
	}
	free(s);
}

/* readall performs SPAWN_PROBE_READ=fd, emitting the data as "read". */
static void readall(int fd)
{
	char *data = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap && !(data = realloc(data, cap = cap ? 2 * cap : 65536)))
			fatal("out of memory");
		ssize_t r = read(fd, data + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			note("read fd %d: %s", fd, strerror(errno));
		if (r <= 0)
			break;
		len += r;
	}
	key("read");
	jstr(data, len);
	free(data);
}

int main(int argc, char **argv)
{
	/* Validate the protocol variables before doing anything. */
	const char *outpath = getenv("SPAWN_PROBE_OUT");
	const char *wspec = getenv("SPAWN_PROBE_WRITE");
	const char *sleepv = getenv("SPAWN_PROBE_SLEEP");
	long readfd = envint("SPAWN_PROBE_READ", -1);
	long killsig = envint("SPAWN_PROBE_KILL", 0);
	long code = envint("SPAWN_PROBE_EXIT", 0);
	double secs = 0;
	if (sleepv) {
		char *endp;
		secs = strtod(sleepv, &endp);
		if (endp == sleepv || *endp || !(secs >= 0))
			fatal("bad SPAWN_PROBE_SLEEP=%s", sleepv);
	}

	char statline[1024] = "";
	if (slurp("/proc/self/status", status, sizeof status) < 0)
		note("read /proc/self/status: %s", strerror(errno));
	if (slurp("/proc/self/stat", statline, sizeof statline) < 0)
		note("read /proc/self/stat: %s", strerror(errno));

	begin(NULL, '{');
	begin("argv", '[');
	for (int i = 0; i < argc; i++)
		estr(argv[i]);
	end(']');
	begin("env", '[');
	for (char **e = environ; e && *e; e++)
		estr(*e);
	end(']');
	const char *cwd = getcwd(lbuf, sizeof lbuf) ? lbuf : rdlink("/proc/self/cwd");
	kstr("cwd", cwd ? cwd : "");
	const char *exe = rdlink("/proc/self/exe");
	kstr("exe", exe ? exe : "");

	kint("pid", getpid());
	kint("ppid", getppid());
	kint("pgid", getpgid(0));
	kint("sid", getsid(0));
	/* /proc/self/stat: pid (comm) state ppid pgrp session tty_nr tpgid ... */
	int tty = 0, tpgid = -1;
	const char *rp = strrchr(statline, ')');
	if (!rp || sscanf(rp + 1, " %*c %*d %*d %*d %d %d", &tty, &tpgid) != 2)
		note("cannot parse /proc/self/stat");
	kint("tpgid", tpgid);
	kint("tty_nr", tty);
	kstatus("umask", "Umask", 8);

	kstatus("sig_blk", "SigBlk", 16);
	kstatus("sig_ign", "SigIgn", 16);
	kstatus("sig_cgt", "SigCgt", 16);
	kstatus("sig_pnd", "SigPnd", 16);
	kstatus("shd_pnd", "ShdPnd", 16);

	fds();

	begin("rlimits", '{');
	for (size_t i = 0; i < sizeof rlimits / sizeof rlimits[0]; i++) {
		struct rlimit rl;
		if (getrlimit(rlimits[i].res, &rl) < 0) {
			note("getrlimit %s: %s", rlimits[i].name, strerror(errno));
			continue;
		}
		begin(rlimits[i].name, '{');
		kuint("cur", rl.rlim_cur);
		kuint("max", rl.rlim_max);
		end('}');
	}
	end('}');

	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	getresuid(&ruid, &euid, &suid);
	getresgid(&rgid, &egid, &sgid);
	kint("uid", ruid);
	kint("euid", euid);
	kint("suid", suid);
	kint("gid", rgid);
	kint("egid", egid);
	kint("sgid", sgid);
	int ngroups = getgroups(0, NULL);
	gid_t *groups = malloc((ngroups > 0 ? ngroups : 1) * sizeof(gid_t));
	ngroups = groups ? getgroups(ngroups, groups) : -1;
	begin("groups", '[');
	for (int i = 0; i < ngroups; i++) {
		sep();
		putf("%u", groups[i]);
	}
	end(']');

	errno = 0;
	int prio = getpriority(PRIO_PROCESS, 0); /* -1 is a valid nice value */
	if (prio == -1 && errno)
		note("getpriority: %s", strerror(errno));
	kint("nice", prio);
	affinity();
	struct sched_param sp = {0};
	kint("sched_policy", sched_getscheduler(0));
	sched_getparam(0, &sp);
	kint("sched_priority", sp.sched_priority);
	kint("ioprio", syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0));

	kint("no_new_privs", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	kstatus("seccomp", "Seccomp", 10);
	int pdeath = 0;
	prctl(PR_GET_PDEATHSIG, &pdeath, 0, 0, 0);
	kint("pdeath_sig", pdeath);
	kint("dumpable", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
	kint("keep_caps", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));

	kstatus("cap_inh", "CapInh", 16);
	kstatus("cap_prm", "CapPrm", 16);
	kstatus("cap_eff", "CapEff", 16);
	kstatus("cap_bnd", "CapBnd", 16);
	kstatus("cap_amb", "CapAmb", 16);

	begin("namespaces", '{');
	for (size_t i = 0; i < sizeof namespaces / sizeof namespaces[0]; i++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/self/ns/%s", namespaces[i]);
		const char *ns = rdlink(path);
		if (ns)
			kstr(namespaces[i], ns);
	}
	end('}');

	static char cgroup[65536];
	ssize_t n = slurp("/proc/self/cgroup", cgroup, sizeof cgroup);
	while (n > 0 && (cgroup[n - 1] == '\n' || cgroup[n - 1] == ' '))
		cgroup[--n] = 0;
	key("cgroup");
	jstr(cgroup, n > 0 ? n : 0);
	const char *root = rdlink("/proc/self/root");
	kstr("root", root ? root : "");
	kstatus("tracer_pid", "TracerPid", 10);

	/* State is collected; now the side effects that the caller asked for. */
	if (wspec)
		writes(wspec);
	if (readfd >= 0)
		readall(readfd);
	if (nnotes) {
		begin("errors", '[');
		for (int i = 0; i < nnotes; i++)
			estr(notes[i]);
		end(']');
	}
	end('}');
	put("\n", 1);

	int ofd = 1;
	if (outpath && (ofd = open(outpath, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644)) < 0)
		fatal("open %s: %s", outpath, strerror(errno));
	if (write_all(ofd, out, olen) < 0)
		fatal("write report: %s", strerror(errno));
	if (outpath && close(ofd) < 0)
		fatal("close %s: %s", outpath, strerror(errno));

	if (secs > 0) {
		struct timespec ts = {(time_t)secs, (long)((secs - (time_t)secs) * 1e9)};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	if (killsig) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, killsig);
		signal(killsig, SIG_DFL);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		kill(getpid(), killsig);
	}
	return code;
}
