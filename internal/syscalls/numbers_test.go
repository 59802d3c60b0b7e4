package syscalls

import (
	"sort"
	"testing"
)

func TestNumber(t *testing.T) {
	for name, want := range map[string]int{
		"read": 0, "nanosleep": 35, "fsync": 74, "ptrace": 101, "init_module": 175,
		"clock_nanosleep": 230, "openat": 257, "newfstatat": 262, "unshare": 272,
		"finit_module": 313, "umount2": 166, "stat": 4, "uname": 63,
	} {
		got, ok := Number(name)
		if !ok || got != want {
			t.Errorf("Number(%q) = %d, %v; want %d, true", name, got, ok, want)
		}
		back, ok := NameOf(want)
		if !ok || back != name {
			t.Errorf("NameOf(%d) = %q, %v; want %q", want, back, ok, name)
		}
	}
	for _, name := range []string{"", "SYS_READ", "READ", "umount", "newstat", "sys_read"} {
		if nr, ok := Number(name); ok {
			t.Errorf("Number(%q) = %d, true; want not found", name, nr)
		}
	}
	if name, ok := NameOf(-1); ok {
		t.Errorf("NameOf(-1) = %q, true", name)
	}
}

func TestNumberTable(t *testing.T) {
	if len(numbers) < 370 {
		t.Fatalf("only %d syscalls in the table", len(numbers))
	}
	if !sort.SliceIsSorted(numbers[:], func(i, j int) bool { return numbers[i].name < numbers[j].name }) {
		t.Error("table is not sorted by name")
	}
	seen := map[int]string{}
	for _, e := range numbers {
		if e.nr < 0 || e.nr >= MaxNumber {
			t.Errorf("%s = %d, outside 0..%d", e.name, e.nr, MaxNumber-1)
		}
		if other, ok := seen[e.nr]; ok {
			t.Errorf("%s and %s are both %d", e.name, other, e.nr)
		}
		seen[e.nr] = e.name
	}
}
