package watchdog

import (
	"bufio"
	"bytes"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// slim makes the watchdog as small as its job. It is the whole sigguard
// binary re-executed, so every package's initialisation has run by the
// time it starts and mapped code and data it never needs again: the
// kernel maps a file's pages a folio at a time (64 KiB and up), so
// initialisation alone maps most of the binary, 10 MiB of it here. Those
// mappings are dropped; the loop maps back the little it runs (3 MiB
// stays resident instead of 10). The pages stay in the page cache, shared
// with sigguard, which maps the same file. Neither a forced collection nor
// GOMAXPROCS=1 helps: the heap initialisation left is under 2 MiB and
// never grows (the loop allocates nothing), and a collection only touches
// more memory.
func slim() {
	unmapUnwrittenImage()
}

// unmapUnwrittenImage drops this process's mappings of its own executable
// that hold no private copy of a page (Anonymous: 0 kB in smaps): for
// them MADV_DONTNEED only unmaps, and the next access maps the file's
// page again. A mapping the process or the dynamic loader wrote to (data,
// relocations) is left alone, since dropping it would lose the writes.
func unmapUnwrittenImage() {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return
	}
	type span struct{ start, end uintptr }
	var drop []span
	var cur span
	ours := false
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		line := lines.Bytes()
		fields := bytes.Fields(line)
		if start, end, ok := mappingRange(fields); ok {
			// "start-end perms offset dev inode path"
			ours = len(fields) == 6 && string(fields[5]) == exe && fields[1][1] != 'w'
			cur = span{start, end}
			continue
		}
		if ours && len(fields) == 3 && string(fields[0]) == "Anonymous:" && string(fields[1]) == "0" {
			drop = append(drop, cur)
		}
	}
	f.Close()
	if lines.Err() != nil {
		return
	}
	for _, s := range drop {
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, s.start, s.end-s.start, unix.MADV_DONTNEED)
	}
}

// mappingRange parses the "start-end" that opens a mapping's block in
// smaps; the other lines of a block open with a "Name:".
func mappingRange(fields [][]byte) (start, end uintptr, ok bool) {
	if len(fields) < 5 {
		return 0, 0, false
	}
	lo, hi, found := bytes.Cut(fields[0], []byte("-"))
	if !found {
		return 0, 0, false
	}
	a, err1 := strconv.ParseUint(string(lo), 16, 64)
	b, err2 := strconv.ParseUint(string(hi), 16, 64)
	if err1 != nil || err2 != nil || b <= a {
		return 0, 0, false
	}
	return uintptr(a), uintptr(b), true
}
