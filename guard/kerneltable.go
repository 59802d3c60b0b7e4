package guard

import (
	"sync"
	"sync/atomic"

	"github.com/sigguard/sigguard/internal/kernfs"
	"github.com/sigguard/sigguard/internal/syscalls"
)

// kernelTable is the running kernel's syscall tracepoints, read once
// they could be read. Where tracefs is not mounted yet (a fresh machine,
// a guest) it is mounted first, as the guard would before attaching.
func kernelTable() (*syscalls.Table, error) {
	kernelTableMu.Lock()
	defer kernelTableMu.Unlock()
	if kernelTableRead != nil {
		return kernelTableRead, nil
	}
	t, err := syscalls.Load("")
	if err != nil && kernfs.EnsureTracefs() == nil {
		t, err = syscalls.Load("")
	}
	if err != nil {
		return nil, err
	}
	kernelTableRead = t
	return t, nil
}

var (
	kernelTableMu   sync.Mutex
	kernelTableRead *syscalls.Table
)

// argNames are the tracepoints' names of each generic syscall's
// arguments, made once the kernel's tracepoints could be read.
func argNames() map[Syscall][]string {
	if m := argNamesMade.Load(); m != nil {
		return *m
	}
	table, err := kernelTable()
	if err != nil {
		return nil
	}
	out := map[Syscall][]string{}
	for _, name := range table.Names() {
		k, _ := table.Lookup(name)
		names := make([]string, len(k.Args))
		for i, a := range k.Args {
			names[i] = a.Name
		}
		out[GenericSyscall(k.Number)] = names
	}
	argNamesMade.Store(&out)
	return out
}

var argNamesMade atomic.Pointer[map[Syscall][]string]

// ArgNames are the names the running kernel's tracepoint gives the
// arguments of generic syscall s, in register order; nil for a route, or
// where the tracepoints cannot be read.
func ArgNames(s Syscall) []string { return argNames()[s] }
