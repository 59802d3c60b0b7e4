package guard

import (
	"testing"
	"unsafe"

	"github.com/sigguard/sigguard/internal/bpf"
)

// The kernel side's table of syscall routes (syscalls_x86.h) and the rows
// in syscalls.go are two views of one table: a route added, renumbered or
// moved between syscall entry and exit on one side only fails here.
func TestRouteTableMatchesTheBPFObject(t *testing.T) {
	spec, err := bpf.LoadGuard()
	if err != nil {
		t.Fatal(err)
	}
	v := spec.Variables[bpf.GuardVarRouteTable]
	if v == nil {
		t.Fatal("the BPF object has no route_table")
	}
	n := int(v.Size()) / int(unsafe.Sizeof(bpf.GuardRouteRow{}))
	rows := make([]bpf.GuardRouteRow, n)
	if err := v.Get(rows); err != nil {
		t.Fatal(err)
	}
	kernel := map[Syscall]bpf.GuardRouteRow{}
	for _, row := range rows {
		kernel[Syscall(row.Route)] = row
	}
	for _, r := range routes {
		row, ok := kernel[r.syscall]
		if r.native == 0 && r.compat == 0 {
			if ok {
				t.Errorf("%s: the kernel side numbers it (%+v), this table does not", r.name, row)
			}
			continue
		}
		delete(kernel, r.syscall)
		want := bpf.GuardRouteRow{Route: uint16(r.syscall), NativeNr: uint16(r.native), CompatNr: uint16(r.compat)}
		if r.atExit {
			want.At = 1
		}
		if !ok || row != want {
			t.Errorf("%s: the kernel side has %+v, this table %+v", r.name, row, want)
		}
	}
	for s, row := range kernel {
		t.Errorf("route %d: only the kernel side has it (%+v)", s, row)
	}
}
