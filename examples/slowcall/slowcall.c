// slowcall: a program that takes its own stack trace when one of its reads
// is slow. It does not measure anything itself: sigguard's BPF program times
// each read(2) from syscall entry to exit and, when a read took longer than
// the policy's threshold, sends SIGUSR2 to the very thread that made it, from
// the read's exit. The handler below then runs on that thread before it
// executes one more instruction of its own code, so the stack it prints is
// the stack of the slow call.
//
// Build: gcc -O1 -g -rdynamic -pthread -o slowcall slowcall.c
// (-rdynamic puts the program's global functions into the dynamic symbol
// table, where backtrace_symbols_fd finds their names; that is why the
// functions that should appear in a stack trace are not static.)
//
// Report lines go to the fd named by SLOWCALL_REPORT_FD (default 2, stderr):
//   worker tid=<tid>
//   read tid=<tid> bytes=<n> boot_ns_after=<CLOCK_BOOTTIME ns after read returned>
//   handler tid=<tid> boot_ns=<CLOCK_BOOTTIME ns at handler entry> seq=<n>
//   done reads=<n>
// The handler's stack trace goes to stderr.
#define _GNU_SOURCE
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int report_fd = 2;

// Handler runs so far. Only the handler writes it, and SIGUSR2 is blocked
// while the handler runs, so two runs never race on it.
static volatile sig_atomic_t handler_runs;

// CLOCK_BOOTTIME is the clock bpf_ktime_get_boot_ns() reads in the kernel
// (and the one that keeps counting through suspend, unlike
// CLOCK_MONOTONIC). sigguard stamps its event with it at the read's exit, so
// the difference between the handler's stamp and the event's is the time
// from the end of the slow call to the handler's first instruction.
static long long boot_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// A signal handler may only call async-signal-safe functions: it can
// interrupt the thread anywhere, also inside malloc or inside printf holding
// stdio's lock, and calling them again from the handler could deadlock or
// corrupt their state. So the lines are formatted by hand into a buffer on
// the stack and written with write(2). The same helpers serve the worker, so
// that every line of the report is written by a single write(2).
static char *put_str(char *p, const char *s) {
	while (*s)
		*p++ = *s++;
	return p;
}

static char *put_num(char *p, long long v) {
	char digits[24];
	int n = 0;
	if (v < 0) {
		*p++ = '-';
		v = -v;
	}
	do {
		digits[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (n)
		*p++ = digits[--n];
	return p;
}

static void write_line(char *line, char *end) {
	*end++ = '\n';
	for (char *p = line; p < end;) {
		ssize_t n = write(report_fd, p, end - p);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
	}
}

void on_sigusr2(int sig) {
	// First, before anything else: the moment the handler started.
	long long now = boot_ns();
	(void)sig;
	int saved_errno = errno; // write(2) below may change it
	handler_runs++;

	char line[128], *p = line;
	p = put_str(p, "handler tid=");
	p = put_num(p, gettid());
	p = put_str(p, " boot_ns=");
	p = put_num(p, now);
	p = put_str(p, " seq=");
	p = put_num(p, handler_runs);
	write_line(line, p);

	// The stack of this thread: this handler, the kernel's signal frame,
	// then read(), read_request(), worker() and the thread's start. The
	// unwinder steps through the signal frame to the interrupted code.
	void *frames[64];
	int depth = backtrace(frames, 64);
	backtrace_symbols_fd(frames, depth, 2); // writes directly, no malloc
	errno = saved_errno;
}

// read_request is the call site the stack trace should name. noinline and
// a global name (for -rdynamic) keep it visible as a frame of its own; the
// clock read after read() also keeps the compiler from turning read() into a
// tail call, which would remove this frame.
__attribute__((noinline)) ssize_t read_request(char *buf, size_t size, long long *after) {
	ssize_t n = read(0, buf, size);
	*after = boot_ns();
	return n;
}

void *worker(void *arg) {
	(void)arg;
	char line[128], *p = line;
	p = put_str(p, "worker tid=");
	p = put_num(p, gettid());
	write_line(line, p);

	long long reads = 0;
	for (;;) {
		char buf[4096];
		long long after;
		ssize_t n = read_request(buf, sizeof buf, &after);
		if (n < 0) {
			// With SA_RESTART a signal never makes read() fail with
			// EINTR: the kernel restarts the call after the handler.
			p = put_str(line, "read failed errno=");
			p = put_num(p, errno);
			write_line(line, p);
			exit(1);
		}
		if (n == 0) {
			p = put_str(line, "done reads=");
			p = put_num(p, reads);
			write_line(line, p);
			exit(0);
		}
		reads++;
		p = put_str(line, "read tid=");
		p = put_num(p, gettid());
		p = put_str(p, " bytes=");
		p = put_num(p, n);
		p = put_str(p, " boot_ns_after=");
		p = put_num(p, after);
		write_line(line, p);
	}
}

int main(void) {
	const char *fd = getenv("SLOWCALL_REPORT_FD");
	if (fd && *fd)
		report_fd = atoi(fd);

	// glibc's backtrace() loads libgcc_s (the unwinder) with dlopen the
	// first time it is called, and dlopen allocates memory and takes locks:
	// not safe in a signal handler. One call here, before the handler
	// exists, does that loading, so the handler's calls only walk the stack.
	void *warm_up[1];
	backtrace(warm_up, 1);

	// SA_RESTART: if the signal arrives while read() is still waiting (sent
	// by hand, say), the kernel restarts the read after the handler returns
	// instead of failing it with EINTR, so the program's logic never sees
	// the signal. (From sigguard the signal comes at the read's exit, when
	// the call has already completed, and there is nothing to restart.)
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigusr2;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL) != 0)
		return 1;

	// Only the worker thread reads stdin; the main thread just waits. The
	// policy's "scope: thread" makes the kernel send the signal to the
	// thread that made the slow call (bpf_send_signal_thread). A signal to
	// the process could be delivered to any thread that does not block it,
	// the main thread here, whose stack would say nothing about the read.
	pthread_t t;
	if (pthread_create(&t, NULL, worker, NULL) != 0)
		return 1;
	pthread_join(t, NULL); // the worker exits the process at EOF
	return 0;
}
