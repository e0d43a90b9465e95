/*
 * interpose.so: an LD_PRELOAD library that catches libc code running in a
 * child process before execve.
 *
 * It wraps sigaction, signal, sigprocmask, pthread_sigmask, malloc, calloc,
 * realloc, free, getenv and getpid, and forwards each call to the next
 * definition (dlsym(RTLD_NEXT)). A constructor records the raw
 * syscall(SYS_getpid) of the process that loaded the library. Every wrapper
 * compares the raw getpid system call with that pid:
 *
 *   equal      the parent (any of its threads) called: parent_calls[f]++;
 *   different  a child that still runs the parent's image called: a child
 *              created with CLONE_VM (vfork-style, shares our memory) or a
 *              fork()ed child before exec. The wrapper records an event
 *              (function, pid, tid) in the shared log and kills the child
 *              with SIGABRT (the default action; like abort(), but with
 *              raw system calls only, so it touches no libc state that the
 *              child may share with the parent), without running the real
 *              function. With INTERPOSE_ON_CHILD=record it only records
 *              the event (and prints the first four) and forwards the
 *              call: that counts every such call of a program that an
 *              abort would crash.
 *
 * The log is a MAP_SHARED mapping of the file named by INTERPOSE_LOG,
 * opened by the constructor, so that events written by a forked child
 * (separate memory) reach the parent too. Its layout (little-endian, see
 * logfile below and the harness's reader):
 *
 *   0    magic "INTRPOS1"
 *   8    owner pid (the process whose calls count as parent calls)
 *   16   child_events (total)
 *   24   nfunc
 *   32   parent_calls[16]
 *   160  child_calls[16]
 *   288  events[4096] of {u32 func, i32 pid, i32 tid, i32 owner} (the first ones)
 *   65824 child_procs: distinct child pids with at least one event
 *   65832 pids[16384]: i32 hash set of those pids
 *
 * The first process that loads the library owns the log (and keeps it
 * across its own execve). Another process that loads it later (a
 * descendant that inherited LD_PRELOAD, after its execve) finds the log
 * owned and uses a private block instead, so only the owner's calls and
 * its children's events are counted.
 *
 * Everything a wrapper does before forwarding is async-signal-safe: raw
 * system calls and atomic operations, no allocation.
 *
 * Build: gcc -shared -fPIC -O2 -Wall -Werror -o interpose.so interpose.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "interpose.c supports only amd64"
#endif

/* ---- raw system calls (no libc, no errno) ---- */

static inline long raw0(long n)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n) : "rcx", "r11", "memory");
	return r;
}

static inline long raw3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

static inline long raw4(long n, long a, long b, long c, long d)
{
	long r;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return r;
}

/* ---- the log ---- */

enum {
	F_SIGACTION,
	F_SIGNAL,
	F_SIGPROCMASK,
	F_PTHREAD_SIGMASK,
	F_MALLOC,
	F_CALLOC,
	F_REALLOC,
	F_FREE,
	F_GETENV,
	F_GETPID,
	NFUNC
};

static const char *const fname[NFUNC] = {
	"sigaction", "signal", "sigprocmask", "pthread_sigmask", "malloc",
	"calloc",    "realloc", "free",       "getenv",          "getpid",
};

#define MAXEV 4096
#define NPIDS 16384
#define LOGSIZE (288 + MAXEV * 16 + 8 + NPIDS * 4)

struct event {
	uint32_t func;
	int32_t pid;
	int32_t tid;
	int32_t owner;
};

struct logfile {
	char magic[8];
	_Atomic uint64_t owner;
	_Atomic uint64_t child_events;
	uint64_t nfunc;
	_Atomic uint64_t parent_calls[16];
	_Atomic uint64_t child_calls[16];
	struct event events[MAXEV];
	_Atomic uint64_t child_procs;
	_Atomic int32_t pids[NPIDS];
};

_Static_assert(offsetof(struct logfile, parent_calls) == 32, "layout");
_Static_assert(offsetof(struct logfile, child_calls) == 160, "layout");
_Static_assert(offsetof(struct logfile, events) == 288, "layout");
_Static_assert(sizeof(struct event) == 16, "layout");
_Static_assert(offsetof(struct logfile, child_procs) == 65824, "layout");
_Static_assert(sizeof(struct logfile) == LOGSIZE, "layout");

static struct logfile private_log; /* when there is no INTERPOSE_LOG */
static struct logfile *L = &private_log;
static volatile long parent_pid; /* raw getpid at load; 0 until then */

/* ---- the real functions, and allocation while dlsym runs ---- */

static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
static sighandler_t (*real_signal)(int, sighandler_t);
static int (*real_sigprocmask)(int, const sigset_t *, sigset_t *);
static int (*real_pthread_sigmask)(int, const sigset_t *, sigset_t *);
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static char *(*real_getenv)(const char *);
static pid_t (*real_getpid)(void);

/* dlsym may allocate (its error buffer, with calloc): serve that from a
 * static buffer, which is zeroed and never freed. */
static _Alignas(16) char boot[64 << 10];
static _Atomic size_t boot_used;
static _Atomic int resolving;

static void *boot_alloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	size_t off = atomic_fetch_add(&boot_used, n);
	if (off + n > sizeof boot)
		return NULL;
	return boot + off;
}

static int is_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + sizeof boot;
}

static void resolve(void)
{
	atomic_store(&resolving, 1);
	real_sigaction = dlsym(RTLD_NEXT, "sigaction");
	real_signal = dlsym(RTLD_NEXT, "signal");
	real_sigprocmask = dlsym(RTLD_NEXT, "sigprocmask");
	real_pthread_sigmask = dlsym(RTLD_NEXT, "pthread_sigmask");
	real_calloc = dlsym(RTLD_NEXT, "calloc");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_free = dlsym(RTLD_NEXT, "free");
	real_getenv = dlsym(RTLD_NEXT, "getenv");
	real_getpid = dlsym(RTLD_NEXT, "getpid");
	real_malloc = dlsym(RTLD_NEXT, "malloc"); /* last: it marks "resolved" */
	atomic_store(&resolving, 0);
}

#define ENSURE()                                                    \
	do {                                                        \
		if (__builtin_expect(real_malloc == NULL, 0) &&     \
		    !atomic_load(&resolving))                       \
			resolve();                                  \
	} while (0)

/* ---- the check ---- */

static size_t put_str(char *b, size_t i, const char *s)
{
	while (*s && i < 200)
		b[i++] = *s++;
	return i;
}

static size_t put_num(char *b, size_t i, long v)
{
	char t[24];
	int n = 0;
	if (v < 0) {
		b[i++] = '-';
		v = -v;
	}
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < 20);
	while (n && i < 200)
		b[i++] = t[--n];
	return i;
}

static int record_only; /* INTERPOSE_ON_CHILD=record */

/* child_event records a call made in a child; unless record_only, it
 * kills the child. */
__attribute__((noinline, cold)) static void child_event(int f, long pid)
{
	long tid = raw0(SYS_gettid);
	uint64_t idx = atomic_fetch_add(&L->child_events, 1);
	atomic_fetch_add(&L->child_calls[f], 1);
	/* Count distinct children: insert pid in the hash set. */
	for (uint32_t h = (uint32_t)pid * 2654435761u, k = 0; k < 64; k++) {
		int32_t want = 0;
		_Atomic int32_t *slot = &L->pids[(h + k) % NPIDS];
		if (atomic_compare_exchange_strong(slot, &want, (int32_t)pid)) {
			atomic_fetch_add(&L->child_procs, 1);
			break;
		}
		if (want == (int32_t)pid)
			break;
	}
	if (idx < MAXEV) {
		L->events[idx].func = (uint32_t)f;
		L->events[idx].pid = (int32_t)pid;
		L->events[idx].tid = (int32_t)tid;
		L->events[idx].owner = (int32_t)parent_pid;
	}
	if (record_only && idx >= 4)
		return;
	char msg[256];
	size_t i = 0;
	i = put_str(msg, i, "interpose: ");
	i = put_str(msg, i, fname[f]);
	i = put_str(msg, i, " called in child pid ");
	i = put_num(msg, i, pid);
	i = put_str(msg, i, " of pid ");
	i = put_num(msg, i, parent_pid);
	i = put_str(msg, i, " before exec\n");
	raw3(SYS_write, 2, (long)msg, (long)i);
	if (record_only)
		return;

	/* abort(), with raw calls only: SIGABRT back to SIG_DFL and unblocked
	 * in this child, then raised. */
	struct {
		long handler, flags, restorer;
		uint64_t mask;
	} dfl = {0, 0, 0, 0};
	uint64_t abrt = 1ull << (SIGABRT - 1);
	raw4(SYS_rt_sigaction, SIGABRT, (long)&dfl, 0, 8);
	raw4(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&abrt, 0, 8);
	raw3(SYS_tgkill, pid, tid, SIGABRT);
	for (;;)
		raw3(SYS_exit_group, 134, 0, 0);
}

static inline void check(int f)
{
	long pid = raw0(SYS_getpid);
	long want = parent_pid;
	if (__builtin_expect(pid == want || want == 0, 1)) {
		atomic_fetch_add_explicit(&L->parent_calls[f], 1, memory_order_relaxed);
		return;
	}
	child_event(f, pid);
}

/* ---- load ---- */

extern char **environ;

static const char *env_value(const char *name)
{
	size_t n = strlen(name);
	if (environ == NULL)
		return NULL;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

__attribute__((constructor(101))) static void interpose_init(void)
{
	ENSURE();
	long pid = raw0(SYS_getpid);
	const char *on_child = env_value("INTERPOSE_ON_CHILD");
	record_only = on_child != NULL && strcmp(on_child, "record") == 0;
	const char *path = env_value("INTERPOSE_LOG");
	if (path != NULL && *path != '\0') {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0) {
			if (ftruncate(fd, LOGSIZE) == 0) {
				void *m = mmap(NULL, LOGSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
				if (m != MAP_FAILED) {
					struct logfile *lf = m;
					uint64_t owner = 0;
					if (atomic_compare_exchange_strong(&lf->owner, &owner, (uint64_t)pid) ||
					    owner == (uint64_t)pid) {
						/* Ours: new, or we loaded it before
						 * an execve (same process). */
						lf->nfunc = NFUNC;
						memcpy(lf->magic, "INTRPOS1", 8);
						L = lf;
					} else {
						/* A descendant that inherited LD_PRELOAD
						 * after exec: not ours to count. */
						munmap(m, LOGSIZE);
					}
				}
			}
			close(fd);
		}
	}
	parent_pid = pid;
}

/* ---- the wrappers ---- */

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	check(F_SIGACTION);
	ENSURE();
	return real_sigaction(sig, act, old);
}

sighandler_t signal(int sig, sighandler_t h)
{
	check(F_SIGNAL);
	ENSURE();
	return real_signal(sig, h);
}

int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	check(F_SIGPROCMASK);
	ENSURE();
	return real_sigprocmask(how, set, old);
}

int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	check(F_PTHREAD_SIGMASK);
	ENSURE();
	return real_pthread_sigmask(how, set, old);
}

void *malloc(size_t n)
{
	check(F_MALLOC);
	if (__builtin_expect(real_malloc == NULL, 0)) {
		if (atomic_load(&resolving))
			return boot_alloc(n);
		resolve();
	}
	return real_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	check(F_CALLOC);
	if (__builtin_expect(real_calloc == NULL || real_malloc == NULL, 0)) {
		if (atomic_load(&resolving)) {
			if (size && n > (size_t)-1 / size)
				return NULL;
			return boot_alloc(n * size); /* static: already zero */
		}
		resolve();
	}
	return real_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	check(F_REALLOC);
	if (__builtin_expect(real_malloc == NULL, 0)) {
		if (atomic_load(&resolving))
			return boot_alloc(n); /* never seen in practice */
		resolve();
	}
	if (is_boot(p)) {
		/* Move a bootstrap block to the real heap; its old size is
		 * unknown, so copy what the buffer can hold. */
		void *q = real_malloc(n);
		if (q != NULL) {
			size_t room = (size_t)(boot + sizeof boot - (char *)p);
			memcpy(q, p, n < room ? n : room);
		}
		return q;
	}
	return real_realloc(p, n);
}

void free(void *p)
{
	check(F_FREE);
	if (p == NULL || is_boot(p))
		return;
	ENSURE();
	if (real_free != NULL)
		real_free(p);
}

char *getenv(const char *name)
{
	check(F_GETENV);
	ENSURE();
	return real_getenv(name);
}

pid_t getpid(void)
{
	check(F_GETPID);
	ENSURE();
	return real_getpid();
}
