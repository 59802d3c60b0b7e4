package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A victim whose memory is partly shared with a file, as a JIT's
// double-mapped code or a shared-memory peer's buffer is: a memfd it
// keeps open and maps MAP_SHARED and writable, whose first word holds a
// second marker. Writing that file writes the victim's memory.
//
//	offender victim-shared    as victim, and on SIGUSR2 prints intact only
//	                          if both markers are
func init() { oneShots["victim-shared"] = holdSharedMarker }

// sharedName is the memfd's name, which attackers look for in
// /proc/<pid>/fd and /proc/<pid>/maps ("/memfd:NAME (deleted)").
const sharedName = "sigguard-shared"

// markerValue is marker's value before anyone wrote it.
var markerValue = marker

func holdSharedMarker([]string) {
	shared := mapShared()
	report := make(chan os.Signal, 1)
	signal.Notify(report, unix.SIGUSR2)
	setSecret()
	fmt.Println("ready")
	<-report
	// Read through a pointer the compiler cannot fold into the constant.
	if *(*uint64)(unsafe.Pointer(&marker)) == markerValue && atomic.LoadUint64(shared) == markerValue {
		fmt.Println("intact")
		return
	}
	fmt.Println("overwritten")
}

// mapShared makes the memfd, maps it and puts the marker in its first
// word. The descriptor stays open.
func mapShared() *uint64 {
	fd, err := unix.MemfdCreate(sharedName, 0)
	if err != nil {
		fail("memfd_create: %v", err)
	}
	if err := unix.Ftruncate(fd, int64(os.Getpagesize())); err != nil {
		fail("ftruncate: %v", err)
	}
	mem, err := unix.Mmap(fd, 0, os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		fail("mmap: %v", err)
	}
	word := (*uint64)(unsafe.Pointer(&mem[0]))
	atomic.StoreUint64(word, markerValue)
	return word
}

// sharedFD is the number of the victim's descriptor of its memfd, read
// from its /proc/<pid>/fd links.
func sharedFD(pid int) int {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		fail("%v", err)
	}
	for _, e := range entries {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err == nil && strings.HasPrefix(link, "/memfd:"+sharedName+" ") {
			n, _ := strconv.Atoi(e.Name())
			return n
		}
	}
	fail("victim %d holds no memfd %s (is it `offender victim-shared`?)", pid, sharedName)
	return -1
}
