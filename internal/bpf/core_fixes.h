/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * CO-RE shims: every place where kernels sigguard supports lay things out
 * differently, each with the kernel change that forced it.
 */
#pragma once

/*
 * io_uring's fixed-file table as kernels up to 6.12 lay it out: an array
 * of tagged file pointers. Linux 6.13 moved every fixed file into a
 * per-slot io_rsrc_node (the io_uring resource rework of that release);
 * routes_uring.h reads whichever the running kernel has.
 */
struct io_fixed_file___old {
	unsigned long file_ptr;
} __attribute__((preserve_access_index));

struct io_file_table___old {
	struct io_fixed_file___old *files;
} __attribute__((preserve_access_index));

struct io_ring_ctx___old {
	struct io_file_table___old file_table;
	unsigned int nr_user_files;
} __attribute__((preserve_access_index));

/*
 * A cgroup's ancestors, itself included, indexed by level. Linux 6.1 keeps
 * pointers to them ("cgroup: Replace cgroup->ancestor_ids[] with
 * ->ancestors[]"); before, it kept their ids.
 */
struct cgroup___old {
	__u64 ancestor_ids[0];
} __attribute__((preserve_access_index));

static __always_inline __u64 cgroup_ancestor_id(struct cgroup *cg, int level)
{
	if (bpf_core_field_exists(struct cgroup, ancestors)) {
		struct cgroup *ancestor = NULL;

		bpf_probe_read_kernel(&ancestor, sizeof(ancestor), &cg->ancestors[level]);
		return BPF_CORE_READ(ancestor, kn, id);
	}
	__u64 id = 0;
	bpf_probe_read_kernel(&id, sizeof(id), &((struct cgroup___old *)cg)->ancestor_ids[level]);
	return id;
}

/*
 * The registers the current task entered the kernel with. Linux 5.15
 * added bpf_task_pt_regs ("bpf: Add bpf_task_pt_regs() helper"); before
 * it, x86-64 keeps them at the top of the 16 KiB task stack, with no
 * padding before FRED, which came in 6.9.
 */
static __always_inline struct pt_regs *entry_regs(struct task_struct *task)
{
	/*
	 * The helper wants a BTF pointer to the task, which
	 * bpf_get_current_task() is not: 6.1 and 6.12 reject the program
	 * ("R1 type=scalar expected=ptr_"). bpf_get_current_task_btf() is
	 * older than the helper (5.11).
	 */
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs))
		return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	void *stack = BPF_CORE_READ(task, stack);
	return (struct pt_regs *)(stack + 16384) - 1;
}

