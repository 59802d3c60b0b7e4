package syscalls

import "sort"

// MaxNumber bounds every x86-64 syscall number in the table: the native
// entries of syscall_64.tbl stay below it, and the x32-only entries, which
// start at 512, are not in the table. A BPF array indexed by syscall number
// needs MaxNumber entries.
const MaxNumber = 512

var byNumber = func() map[int]string {
	m := make(map[int]string, len(numbers))
	for _, e := range numbers {
		m[e.nr] = e.name
	}
	return m
}()

// Number is the x86-64 number of the syscall called name, as spelled in the
// kernel's syscall_64.tbl ("newfstatat", "umount2", "pread64").
func Number(name string) (int, bool) {
	i := sort.Search(len(numbers), func(i int) bool { return numbers[i].name >= name })
	if i < len(numbers) && numbers[i].name == name {
		return numbers[i].nr, true
	}
	return 0, false
}

// NameOf is the name of the x86-64 syscall numbered nr.
func NameOf(nr int) (string, bool) {
	name, ok := byNumber[nr]
	return name, ok
}

// allNames is every name in the number table, sorted.
func allNames() []string {
	names := make([]string, len(numbers))
	for i, e := range numbers {
		names[i] = e.name
	}
	return names
}
