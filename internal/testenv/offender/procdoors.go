package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// /proc doors other than /proc/<pid>/mem. Following a /proc/<pid>/fd/N
// or /proc/<pid>/map_files/START-END link (proc_pid_get_link) opens the
// file behind it afresh, the victim's own file, not a procfs one: the
// kernel checks only PTRACE_MODE_READ_FSCREDS on the way
// (proc_fd_access_allowed; map_files also wants CAP_SYS_ADMIN or
// CAP_CHECKPOINT_RESTORE). /proc/<pid>/environ checks the same READ mode
// at open (mm_access), and reads the victim's environment block from its
// memory. They are tried on `offender victim-shared`, whose shared marker
// lives in a memfd it keeps open and maps MAP_SHARED.
func init() {
	calls["proc-fd-reopen-marker"] = reopenSharedFD
	calls["map-files-marker"] = mapFilesShared
	calls["environ-read"] = readEnviron
}

// reopenSharedFD opens the victim's memfd again through its
// /proc/<pid>/fd link, read-write, and zeroes the shared marker.
func reopenSharedFD(pid int) syscall.Errno {
	return zeroWordAt(fmt.Sprintf("/proc/%d/fd/%d", pid, sharedFD(pid)), 0)
}

// mapFilesShared opens the file behind the victim's shared mapping
// through /proc/<pid>/map_files and zeroes the shared marker, at the
// file offset the mapping starts at.
func mapFilesShared(pid int) syscall.Errno {
	rng, off := sharedMapping(pid)
	return zeroWordAt(fmt.Sprintf("/proc/%d/map_files/%s", pid, rng), off)
}

// zeroWordAt opens path read-write and writes 8 zero bytes at off.
func zeroWordAt(path string, off int64) syscall.Errno {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err.(syscall.Errno)
	}
	defer unix.Close(fd)
	_, err = unix.Pwrite(fd, make([]byte, 8), off)
	return errnoOf(err)
}

// sharedMapping finds the victim's mapping of its memfd in
// /proc/<pid>/maps: its address range as map_files names it, and the
// file offset it maps.
func sharedMapping(pid int) (rng string, off int64) {
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		fail("%v", err)
	}
	lines := bufio.NewScanner(bytes.NewReader(maps))
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		if len(f) >= 6 && f[5] == "/memfd:"+sharedName && f[1] == "rw-s" {
			off, err := strconv.ParseInt(f[2], 16, 64)
			if err != nil {
				fail("maps: %q: %v", lines.Text(), err)
			}
			return f[0], off
		}
	}
	fail("victim %d maps no memfd %s (is it `offender victim-shared`?)", pid, sharedName)
	return "", 0
}

// readEnviron reads /proc/<pid>/environ: errno 0 if it gave the victim's
// environment (it has OFFENDER_SECRET, the test's path for the secret).
func readEnviron(pid int) syscall.Errno {
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return err.(*os.PathError).Err.(syscall.Errno)
	}
	if !bytes.Contains(env, []byte("\x00OFFENDER_SECRET=")) && !bytes.HasPrefix(env, []byte("OFFENDER_SECRET=")) {
		return syscall.ENODATA
	}
	return 0
}
