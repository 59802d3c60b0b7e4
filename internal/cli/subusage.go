package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// errHelp says a sub-command was asked for its help: print it, exit 0.
var errHelp = errors.New("help requested")

// Sub-command usages; the flags, where a sub-command has any, follow.
const (
	benchUsage = `sigguard bench measures, on this machine, how many offending calls return
before the kill lands (the escape window), what the hooks cost every call,
and how many events a second the reader keeps up with. Everything runs in
a cgroup of its own; it kills only the processes it starts.

Usage:
  sigguard bench [--runs N] [--json] [--plot FILE.svg]

Flags:
`
	checkUsage = `sigguard check validates a policy file and prints the rules it would
enforce and the syscalls it would hook. It loads nothing into the kernel.

Usage:
  sigguard check FILE

Exit status: 0 for a valid policy, 2 for an invalid one.
`
	statusUsage = `sigguard status shows what a pinned guard enforces: its tier, hooks, rules
and counters, and whether a sigguard reads its events.

Usage:
  sigguard status [--pin-dir DIR]

Exit status: 0 when a guard is pinned there, 1 when none is, 2 on bad input.

Flags:
`
	unpinUsage = `sigguard unpin stops a pinned guard for good: its hooks first, then its
maps. It refuses while a sigguard runs with the pins.

Usage:
  sigguard unpin [--pin-dir DIR]

Flags:
`
)

// wantsHelp says whether args ask for help (-h or --help anywhere).
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" {
			return true
		}
	}
	return false
}

// printHelp writes a sub-command's usage and its flags, if any.
func printHelp(w io.Writer, text string, fs *pflag.FlagSet) int {
	fmt.Fprint(w, text)
	if fs != nil {
		fmt.Fprint(w, fs.FlagUsages())
	}
	return exitOK
}
