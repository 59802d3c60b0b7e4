//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test programs for the kernel side's target resolution and matching, on
 * their own. They include the real headers and call the real functions;
 * being raw_tp programs, they can be run with BPF_PROG_TEST_RUN (Linux
 * 5.10+), which runs them in the calling thread: bpf_get_current_task()
 * is the Go test's thread. Arguments come in the context (u64 args);
 * results go to one-entry array maps the test reads back.
 *
 * Nothing here is loaded by sigguard itself.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sigguard.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#include "maps.h"
#include "judge.h"
#include "conditions.h"

/* What resolve found. */
struct resolve_result {
	__u8 kind;       /* enum target_kind of the resolved target */
	__u8 found_ns;   /* the namespace to look in was found */
	__u8 reserved[2];
	__u32 ns_level;  /* that namespace's level (0: the initial one) */
	__u32 tgid;      /* SG_TARGET_TASK: the task's host thread group id */
	__u32 tid;       /* SG_TARGET_TASK: the task's host thread id */
	__s32 nr;        /* SG_TARGET_TASK: pid_nr_ns of its pid in that namespace */
	__s32 caller_nr; /* SG_TARGET_TASK: pid_nr_ns of its pid in the caller's namespace */
};

/* What the file probes found behind a descriptor. */
struct file_result {
	__u8 has_file;   /* fd_file found an open file */
	__u8 pidfd;      /* pidfd_pid gave a struct pid */
	__u8 proc_mem;   /* is_proc_mem */
	__u8 pidfd_kind; /* enum target_kind of target_pid(pidfd_pid(f)), when pidfd */
	__u8 mem_kind;   /* enum target_kind of target_pid(proc_file_pid(f)), when proc_mem */
	__u8 reserved[3];
	__u32 pidfd_tgid;
	__u32 pidfd_tid;
	__u32 mem_tgid;
	__u32 mem_tid;
};

/* What match found. */
struct match_result {
	__u64 candidates;  /* rules of the active generation that guard the syscall */
	__u64 matched;     /* matching_rules: the rules that match the call */
	__u64 exempt;      /* rules an except list exempted */
	__u64 left;        /* candidates still standing after matching (before exempt) */
	__u32 generation;  /* the active generation */
	__u32 tgid;        /* the caller, as the call saw it */
	__u32 tid;
	__u32 target_tgid; /* SG_TARGET_TASK: the target's host thread group id */
	__u32 target_tid;  /* SG_TARGET_TASK: the target's host thread id */
	__u8 resolved;     /* matching_rules went as far as resolving the target */
	__u8 target_kind;  /* enum target_kind, once resolved */
	__u8 reserved[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct resolve_result);
} resolve_results SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct file_result);
} file_results SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct match_result);
} match_results SEC(".maps");

/*
 * resolve: args[0] a pid number, args[1] a descriptor. With a descriptor
 * of -1 the number is resolved as a syscall's is, by resolve_target (in
 * the caller's active pid namespace); else by resolve_target_in the pid
 * namespace of the process behind the pidfd.
 */
SEC("raw_tp")
int resolve(struct bpf_raw_tracepoint_args *ctx)
{
	__s64 nr = (__s64)ctx->args[0];
	int fd = (int)ctx->args[1];
	__u32 zero = 0;
	struct resolve_result *out = bpf_map_lookup_elem(&resolve_results, &zero);
	struct pid_namespace *ns;
	struct target t = {};

	if (!out)
		return 1;
	__builtin_memset(out, 0, sizeof(*out));
	if (fd < 0) {
		ns = active_pid_ns(current_task());
		t = target_nr(nr);
		resolve_target(&t);
	} else {
		struct pid *owner = pidfd_pid(fd_file(fd));

		if (!owner)
			return 0;
		ns = pid_ns_of(owner);
		t = target_nr(nr);
		resolve_target_in(&t, ns);
	}
	out->found_ns = 1;
	out->ns_level = BPF_CORE_READ(ns, level);
	out->kind = t.kind;
	if (t.kind == SG_TARGET_TASK) {
		out->tgid = task_tgid(t.task);
		out->tid = task_tid(t.task);
		out->nr = pid_nr_ns(t.pid, ns);
		out->caller_nr = pid_nr_ns(t.pid, active_pid_ns(current_task()));
	}
	return 0;
}

/*
 * file: args[0] a descriptor of the caller. Reports what pidfd_target and
 * proc_mem_pid + target_pid (the open routes' steps) make of it.
 */
SEC("raw_tp")
int file(struct bpf_raw_tracepoint_args *ctx)
{
	int fd = (int)ctx->args[0];
	__u32 zero = 0;
	struct file_result *out = bpf_map_lookup_elem(&file_results, &zero);
	struct file *f;
	struct target t = {};

	if (!out)
		return 1;
	__builtin_memset(out, 0, sizeof(*out));
	f = fd_file(fd);
	out->has_file = f != NULL;
	if (pidfd_pid(f)) {
		out->pidfd = 1;
		t = pidfd_target(fd);
		out->pidfd_kind = t.kind;
		if (t.kind == SG_TARGET_TASK) {
			out->pidfd_tgid = task_tgid(t.task);
			out->pidfd_tid = task_tid(t.task);
		}
	}
	struct pid *mem = proc_mem_pid(f);
	if (mem) {
		out->proc_mem = 1;
		t = target_pid(mem);
		out->mem_kind = t.kind;
		if (t.kind == SG_TARGET_TASK) {
			out->mem_tgid = task_tgid(t.task);
			out->mem_tid = task_tid(t.task);
		}
	}
	return 0;
}

/*
 * match: args[0] the pid a call names (in the caller's pid namespace),
 * args[1] the syscall (enum syscall_id), args[2] the ptrace request. Builds
 * the call as judge() does, from the calling thread, and runs
 * matching_rules against the active generation of the policy maps. It
 * only matches: nothing is signalled, counted as a verdict or reported.
 */
SEC("raw_tp")
int match(struct bpf_raw_tracepoint_args *ctx)
{
	__s64 nr = (__s64)ctx->args[0];
	__u16 syscall = (__u16)ctx->args[1];
	__s64 request = (__s64)ctx->args[2];
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 id = syscall & ~SG_SYSCALL_COMPAT;
	__u32 zero = 0;
	struct match_result *out = bpf_map_lookup_elem(&match_results, &zero);
	struct matching m = {};
	struct call c = {};

	if (!out)
		return 1;
	__builtin_memset(out, 0, sizeof(*out));
	out->tgid = pid_tgid >> 32;
	out->tid = (__u32)pid_tgid;
	if (id >= SG_SYSCALL_MAX)
		return 0;
	out->matched = judge_match(syscall, request, target_nr(nr), &m, &c);
	/* What the policy offers before matching narrows it. */
	const struct policy *p = NULL;
	out->candidates = candidates_for(id, &out->generation, &p);
	out->exempt = m.exempt;
	out->left = m.candidates;
	out->resolved = out->candidates && !c.target.by_nr;
	out->target_kind = c.target.kind;
	if (out->resolved && c.target.kind == SG_TARGET_TASK) {
		out->target_tgid = task_tgid(c.target.task);
		out->target_tid = task_tid(c.target.task);
	}
	return 0;
}

/* What condition and rate found. */
struct condition_result {
	__u32 fails;  /* condition_fails: 1 when the condition fails */
	__u32 within; /* within_rate: 1 when the call may act */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct condition_result);
} condition_results SEC(".maps");

/*
 * condition: args[0] a slot of generic_rules, args[1] the condition's
 * index (SG_MAX_CONDITIONS: slower_than), args[2] the value, args[3] 1 to
 * judge at exit. Runs condition_fails as the generic route does.
 */
SEC("raw_tp")
int condition(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 zero = 0;
	struct condition_result *out = bpf_map_lookup_elem(&condition_results, &zero);

	if (!out)
		return 1;
	out->fails = condition_fails((__u32)ctx->args[0], (__u32)ctx->args[1], ctx->args[2], (__u32)ctx->args[3]);
	return 0;
}

/*
 * rate: args[0] a slot of generic_rules, args[1] the caller's tgid (as the
 * call saw it), args[2] the boot-clock time. Runs within_rate once.
 */
SEC("raw_tp")
int rate(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 zero = 0;
	struct condition_result *out = bpf_map_lookup_elem(&condition_results, &zero);
	struct call c = { .tgid = (__u32)ctx->args[1], .tid = (__u32)ctx->args[1] };

	if (!out)
		return 1;
	out->within = within_rate((__u32)ctx->args[0], &c, ctx->args[2]);
	return 0;
}
