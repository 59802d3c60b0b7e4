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

