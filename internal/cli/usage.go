package cli

import "github.com/spf13/pflag"

func usage(fs *pflag.FlagSet) string {
	return `sigguard stops processes that call ptrace(2), from inside the kernel: a BPF
program on the syscall's entry sends the signal itself, so the caller never
returns to user space. Every intervention is reported, one line each.

Usage:
  sigguard [flags]
  sigguard --policy FILE [--output ...] [--ready-file ...]
  sigguard check FILE       validate a policy and print what it enforces
  sigguard bench [--runs N] [--only STEP,...] [--json] [--plot FILE.svg]
                            measure the escape window, the cost and the throughput
  sigguard status [--pin-dir DIR]
                            show what a pinned guard enforces (exit 1: none)
  sigguard unpin [--pin-dir DIR]
                            stop a pinned guard for good

With no flags, every process that calls ptrace gets SIGKILL (needs root, or
CAP_BPF and CAP_PERFMON). Stop with Ctrl-C; a summary goes to stderr.
In a container it needs the host's pid namespace (docker run --pid=host,
Kubernetes hostPID: true), CAP_BPF and CAP_PERFMON or CAP_SYS_ADMIN, and,
with --pin, the host's /sys/fs/bpf mounted in: it refuses (exit 2) without.

Flags:
` + fs.FlagUsages() + `
Examples:
  sigguard                           kill every ptrace caller
  sigguard --audit --output json     report ptrace callers, signal nothing
  sigguard --ppid 1234 --signal USR1 send SIGUSR1 to children of 1234 that call ptrace
  sigguard --policy /etc/sigguard.yaml
                                     enforce a policy (docs/policy.md); kill -HUP re-reads it
  sigguard --pin --policy /etc/sigguard.yaml
                                     the same, enforced on if sigguard dies; run again to adopt

Exit status: 0 after a clean stop, 1 when the guard fails, 2 on bad input
or where it cannot enforce (nothing is loaded then).
`
}
