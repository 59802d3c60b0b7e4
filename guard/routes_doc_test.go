package guard

import (
	"strings"
	"testing"
)

const (
	// The lines between these two are made from routes.
	routesBegin = "<!-- made from the rows of guard/syscalls.go; go test ./guard -run TestSyscallsTableInDocs -update rewrites it -->\n"
	routesEnd   = "<!-- end of the syscalls -->\n"
)

// docs/policy.md's Syscalls table is the route table's rows: what each
// guards, where it is hooked and judged, how its target is found.
func TestSyscallsTableInDocs(t *testing.T) {
	checkDocBlock(t, "Syscalls table", routesBegin, routesEnd, routesDoc())
}

func routesDoc() string {
	var b strings.Builder
	b.WriteString("| name | guards | judged | target |\n|---|---|---|---|\n")
	for _, r := range routes {
		hook := "`tp_btf/io_uring_complete`, `tp_btf/io_uring_file_get`"
		if r.tracepoint != "" {
			hook = "`syscalls/" + r.tracepoint + "`"
		}
		when := "at syscall entry, "
		if r.atExit {
			when = "on the opened file, "
		}
		b.WriteString("| `" + r.name + "` | " + r.guards + " | " + when + hook + " | " + r.target + " |\n")
	}
	for _, p := range []string{"proc-mem", "memory-access"} {
		var names []string
		for _, s := range Presets[p] {
			names = append(names, "`"+s.String()+"`")
		}
		b.WriteString("| `" + p + "` (preset) | " + strings.Join(names, ", ") + " | | |\n")
	}
	return b.String()
}
