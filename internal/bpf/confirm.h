/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * After a kill: its proof (the process's exit) and what it left behind
 * (a victim its attach stopped).
 */
#pragma once

#include "emit.h"
#include "judge.h"

/* signal_struct.flags: the group stop has completed. */
#define SIGNAL_STOP_STOPPED 0x00000001
#define SIGSTOP 19

/*
 * Proof of kill: the exit of a process sigguard sent SIGKILL to. It runs on
 * every thread's exit; signal->live reaches 0, just before this
 * tracepoint, for the last thread of the group only.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sg_confirm_exit, struct task_struct *p)
{
	/*
	 * Every exit on the machine comes here: p is a BTF pointer, read
	 * with plain loads (the kernel fixes up a faulting one), not with
	 * the probe-read helper, so that an exit sigguard never signalled
	 * costs little more than the tracepoint itself.
	 */
	if (!kills_pending() || p->signal->live.counter != 0)
		return 0;
	__u32 tgid = p->tgid;
	struct kill *found = bpf_map_lookup_elem(&kills, &tgid);
	if (!found)
		return 0;
	struct kill copy = *found, *k = &copy;
	/* Two threads may both see live == 0: only the one that deletes reports. */
	if (bpf_map_delete_elem(&kills, &tgid))
		return 0;
	__sync_fetch_and_add(&kills_ended, 1);
	count_in(&counters, SG_COUNTER_CONFIRMED);
	struct event *e = reserve_event();
	if (!e)
		return 0;
	__u64 now = bpf_ktime_get_boot_ns();
	e->boot_ns = now;
	e->call_ns = k->call_ns;
	e->tgid = tgid;
	e->tid = BPF_CORE_READ(p, pid);
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	/* cgroup_exit comes later in do_exit, and leaves task->cgroups set anyway. */
	e->cgroup_id = task_cgroup_id(p);
	e->signal = SIGKILL;
	e->syscall = k->syscall;
	e->nr = k->nr;
	e->kind = SG_EVENT_EXITED;
	e->action = SG_ACTION_SIGNAL_PROCESS;
	e->rule = k->rule;
	e->generation = k->generation;
	e->resume = k->resume;
	e->reap = k->reap;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), p->comm);
	bpf_ringbuf_submit(e, wakeup_flags(now));
	return 0;
}

/*
 * PTRACE_ATTACH stops its victim with a SIGSTOP sent by the attacher. If
 * sigguard has just SIGKILLed the attacher, the victim stays stopped, with
 * no tracer, until someone sends SIGCONT. Note it, but only if it was not
 * stopped already: a process someone had stopped stays stopped.
 */
SEC("tp_btf/signal_generate")
int BPF_PROG(sg_note_stop, int sig, struct kernel_siginfo *info, struct task_struct *victim)
{
	if (sig != SIGSTOP || !kills_pending())
		return 0;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct kill *k = bpf_map_lookup_elem(&kills, &tgid);
	/* A refused attach sends no SIGSTOP: any other stop is not ours to end. */
	if (!k || k->denied || (k->syscall & ~SG_SYSCALL_COMPAT) != SG_SYSCALL_PTRACE)
		return 0;
	if (BPF_CORE_READ(victim, signal, flags) & SIGNAL_STOP_STOPPED)
		return 0;
	k->resume = BPF_CORE_READ(victim, tgid);
	return 0;
}
