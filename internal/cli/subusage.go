package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

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
  sigguard bench [--runs N] [--only STEP,...] [--json] [--plot FILE.svg]

Flags:
`
	checkUsage = `sigguard check validates a policy file and prints the rules it would
enforce and the syscalls it would hook. It loads nothing into the kernel.

Usage:
  sigguard check FILE

Exit status: 0 for a valid policy, 2 for an invalid one.

Flags:
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
	fmt.Fprint(w, subcommandLogHelp)
	return exitOK
}

// subcommandLogHelp is the flag every sub-command takes besides its own.
const subcommandLogHelp = "      --log-format FORMAT   stderr: text, or json (JSON lines with time, level, msg)\n"

// takesLogFormat names the sub-commands that take --log-format, as the
// guard does: what they write to stderr goes to the same collectors.
var takesLogFormat = map[string]bool{"check": true, "bench": true, "status": true, "unpin": true}

// stripLogFormat takes --log-format off the arguments (a sub-command's,
// or the guard's when they do not parse) and returns the rest with stderr
// in that format.
func stripLogFormat(args []string, stderr io.Writer) ([]string, io.Writer, error) {
	var rest []string
	format := logFormatValue(logText)
	for i := 0; i < len(args); i++ {
		value, ok := strings.CutPrefix(args[i], "--log-format=")
		if args[i] == "--log-format" {
			if i+1 == len(args) {
				return nil, nil, errors.New("--log-format needs a value (text or json)")
			}
			i, value, ok = i+1, args[i+1], true
		}
		if !ok {
			rest = append(rest, args[i])
			continue
		}
		if err := format.Set(value); err != nil {
			return nil, nil, err
		}
	}
	return rest, newLogger(logFormat(format), stderr).writer(), nil
}
