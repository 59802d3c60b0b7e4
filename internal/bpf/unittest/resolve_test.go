package unittest

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/bpf"
)

func TestBPFHelperProcess(t *testing.T) { ServeHelper(t) }

const (
	kindTask       = uint8(bpf.GuardTargetKindSG_TARGET_TASK)
	kindMissing    = uint8(bpf.GuardTargetKindSG_TARGET_MISSING)
	kindUnresolved = uint8(bpf.GuardTargetKindSG_TARGET_UNRESOLVED)
)

func task(tgid, tid, nr, callerNr int, level uint32) UnitResolveResult {
	return UnitResolveResult{Kind: kindTask, FoundNs: 1, NsLevel: level, Tgid: uint32(tgid), Tid: uint32(tid),
		Nr: int32(nr), CallerNr: int32(callerNr)}
}

func missing(level uint32) UnitResolveResult {
	return UnitResolveResult{Kind: kindMissing, FoundNs: 1, NsLevel: level}
}

// Target resolution: a pid number looked up in a pid namespace, as the
// kernel looks up the pid a syscall names, gives the task (its host tgid
// and tid, and its number back in that namespace), or SG_TARGET_MISSING
// for a number no task has there; never SG_TARGET_UNRESOLVED.
func TestBPFResolveTarget(t *testing.T) {
	o := LoadForTest(t)
	if len(NSPids(t, "/proc/self/status")) != 1 {
		t.Skip("the test must run in the initial pid namespace")
	}
	cmd := exec.Command(executable(t))
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	h := StartHelper(t, cmd, 2)
	if h.NSPid != 1 {
		t.Fatalf("helper's pid in its namespace is %d, want 1", h.NSPid)
	}
	selfPidfd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(selfPidfd) })
	self, thread, helperThread := os.Getpid(), OwnThread(t), h.Threads[1]
	pidMax := PidMax(t)
	free := FreePid(t)
	const caller = -1 // the caller's own namespace, through resolve_target

	type resolveCase struct {
		name string
		nr   int64
		fd   int // a pidfd of a process whose namespace nr is in; caller: resolve_target
		want UnitResolveResult
	}
	cases := []resolveCase{
		{"host: 1 is init", 1, caller, task(1, 1, 1, 1, 0)},
		{"host: own pid", int64(self), caller, task(self, self, self, self, 0)},
		{"host: own thread resolves to the thread", int64(thread), caller, task(self, thread, thread, thread, 0)},
		{"host: helper by host pid", int64(h.Pid), caller, task(h.Pid, h.Pid, h.Pid, h.Pid, 0)},
		{"host: helper thread by host tid", int64(helperThread.Host), caller,
			task(h.Pid, helperThread.Host, helperThread.Host, helperThread.Host, 0)},
		{"host: 0", 0, caller, missing(0)},
		{"host: -1", -1, caller, missing(0)},
		{"host: MinInt32", math.MinInt32, caller, missing(0)},
		{"host: free pid below pid_max", int64(free), caller, missing(0)},
		{"host: pid_max", int64(pidMax), caller, missing(0)},
		{"host: pid_max+1", int64(pidMax) + 1, caller, missing(0)},
		{"host: PID_MAX_LIMIT", 1 << 22, caller, missing(0)},
		{"host: PID_MAX_LIMIT+1", 1<<22 + 1, caller, missing(0)},
		{"host: MaxInt32", math.MaxInt32, caller, missing(0)},
		{"host: low 32 bits only: 1<<32|1 is init", 1<<32 | 1, caller, task(1, 1, 1, 1, 0)},
		{"host: low 32 bits only: 1<<32 is 0", 1 << 32, caller, missing(0)},
		{"host by own pidfd: 1 is init", 1, selfPidfd, task(1, 1, 1, 1, 0)},
		{"host by own pidfd: helper thread", int64(helperThread.Host), selfPidfd,
			task(h.Pid, helperThread.Host, helperThread.Host, helperThread.Host, 0)},
		{"host by own pidfd: pid_max", int64(pidMax), selfPidfd, missing(0)},
		{"helper ns: 1 is the helper", 1, h.Pidfd, task(h.Pid, h.Pid, 1, h.Pid, 1)},
		{"helper ns: a thread by its namespace tid", int64(helperThread.NS), h.Pidfd,
			task(h.Pid, helperThread.Host, helperThread.NS, helperThread.Host, 1)},
		{"helper ns: the host pid of this process is not there", int64(self), h.Pidfd, missing(1)},
		{"helper ns: a number no thread has", 1000, h.Pidfd, missing(1)},
		{"helper ns: free pid below pid_max", int64(free), h.Pidfd, missing(1)},
		{"helper ns: pid_max", int64(pidMax), h.Pidfd, missing(1)},
		{"helper ns: 0", 0, h.Pidfd, missing(1)},
		{"helper ns: -1", -1, h.Pidfd, missing(1)},
	}
	nsTids := map[int64]bool{}
	for _, th := range h.Threads {
		nsTids[int64(th.NS)] = true
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.want.Kind == kindMissing && ((c.fd == h.Pidfd && nsTids[c.nr]) || (c.fd != h.Pidfd && Exists(int(c.nr)))) {
				t.Skipf("a task has %d now", c.nr)
			}
			got, err := o.Resolve(c.nr, c.fd)
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind == kindUnresolved {
				t.Errorf("%d: SG_TARGET_UNRESOLVED, the pid table could not be read", c.nr)
			}
			if got != c.want {
				t.Errorf("resolve %d: got %+v, want %+v", c.nr, got, c.want)
			}
		})
	}

	// Every number below 65536 and a sample of the rest up to pid_max:
	// whatever the pid tree's shape, a number resolves to the task /proc
	// has for it, or is missing; never unresolved.
	t.Run("host: numbers up to pid_max", func(t *testing.T) {
		for nr := 1; nr <= pidMax+1; {
			before := Exists(nr)
			got, err := o.Resolve(int64(nr), caller)
			if err != nil {
				t.Fatal(err)
			}
			after := Exists(nr)
			switch got.Kind {
			case kindTask:
				if int(got.Tid) != nr || int(got.Nr) != nr {
					t.Errorf("%d resolved to tid %d, number %d", nr, got.Tid, got.Nr)
				}
				if !before && !after {
					t.Errorf("%d resolved to a task (tgid %d), but /proc has none", nr, got.Tgid)
				}
			case kindMissing:
				if before && after {
					t.Errorf("%d missing, but /proc has it", nr)
				}
			default:
				t.Fatalf("%d: kind %d", nr, got.Kind)
			}
			if nr < 1<<16 {
				nr++
			} else {
				nr += 61
			}
		}
	})
}

func TestBPFResolveNotAPidfd(t *testing.T) {
	o := LoadForTest(t)
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	got, err := o.Resolve(1, int(devNull.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if got != (UnitResolveResult{}) {
		t.Errorf("a namespace from /dev/null: %+v", got)
	}
}

func executable(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// What pidfd_pid and is_proc_mem (with proc_file_pid) make of descriptors.
func TestBPFResolveFiles(t *testing.T) {
	o := LoadForTest(t)
	cmd := exec.Command(executable(t))
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	h := StartHelper(t, cmd, 2)
	self, thread, helperThread := os.Getpid(), OwnThread(t), h.Threads[1]

	tmpfs := t.TempDir()
	if err := unix.Mount("tmpfs", tmpfs, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(tmpfs, unix.MNT_DETACH) })
	if err := os.WriteFile(filepath.Join(tmpfs, "mem"), []byte("not /proc"), 0o600); err != nil {
		t.Fatal(err)
	}
	regular := filepath.Join(t.TempDir(), "regular")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	proc := func(pid int, rest ...string) string {
		return filepath.Join(append([]string{"/proc", strconv.Itoa(pid)}, rest...)...)
	}
	openPath := func(path string) func(t *testing.T) int {
		return func(t *testing.T) int {
			fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatalf("open %s: %v", path, err)
			}
			return fd
		}
	}
	pidfd := func(pid int, flags int) func(t *testing.T) int {
		return func(t *testing.T) int {
			fd, err := unix.PidfdOpen(pid, flags)
			if err == unix.EINVAL && flags&unix.PIDFD_THREAD != 0 {
				t.Skip("no PIDFD_THREAD (Linux 6.9+)")
			}
			if err != nil {
				t.Fatalf("pidfd_open %d: %v", pid, err)
			}
			return fd
		}
	}
	eventfd := func(t *testing.T) int {
		fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		return fd
	}
	isPidfd := func(tgid, tid int) UnitFileResult {
		return UnitFileResult{HasFile: 1, Pidfd: 1, PidfdKind: kindTask, PidfdTgid: uint32(tgid), PidfdTid: uint32(tid)}
	}
	isMem := func(tgid, tid int) UnitFileResult {
		return UnitFileResult{HasFile: 1, ProcMem: 1, MemKind: kindTask, MemTgid: uint32(tgid), MemTid: uint32(tid)}
	}
	neither := UnitFileResult{HasFile: 1}
	optional := func(path string) func(t *testing.T) int {
		return func(t *testing.T) int {
			if _, err := os.Stat(path); err != nil {
				t.Skipf("no %s here", path)
			}
			return openPath(path)(t)
		}
	}
	cases := []struct {
		name string
		open func(t *testing.T) int
		want UnitFileResult
	}{
		{"/dev/null", openPath(os.DevNull), neither},
		{"a regular file", openPath(regular), neither},
		{"an eventfd (an anonymous inode, not a pidfd)", eventfd, neither},
		{"the /proc/<pid> directory", openPath(proc(h.Pid)), neither},
		{"pidfd of the helper", pidfd(h.Pid, 0), isPidfd(h.Pid, h.Pid)},
		{"pidfd of this process", pidfd(self, 0), isPidfd(self, self)},
		{"thread pidfd of a helper thread", pidfd(helperThread.Host, unix.PIDFD_THREAD), isPidfd(h.Pid, helperThread.Host)},
		{"/proc/<helper>/mem", openPath(proc(h.Pid, "mem")), isMem(h.Pid, h.Pid)},
		{"/proc/<helper>/task/<tid>/mem", openPath(proc(h.Pid, "task", strconv.Itoa(helperThread.Host), "mem")),
			isMem(h.Pid, helperThread.Host)},
		{"/proc/self/mem", openPath("/proc/self/mem"), isMem(self, self)},
		{"/proc/<self>/task/<thread>/mem", openPath(proc(self, "task", strconv.Itoa(thread), "mem")), isMem(self, thread)},
		{"/proc/<helper>/status", openPath(proc(h.Pid, "status")), neither},
		{"/proc/meminfo", openPath("/proc/meminfo"), neither},
		{"/proc/pressure/memory", optional("/proc/pressure/memory"), neither},
		{"/proc/sys/vm/memfd_noexec", optional("/proc/sys/vm/memfd_noexec"), neither},
		{"a tmpfs file named mem", openPath(filepath.Join(tmpfs, "mem")), neither},
		{"no descriptor (-1)", func(*testing.T) int { return -1 }, UnitFileResult{}},
		{"a descriptor past the table", func(*testing.T) int { return 1 << 20 }, UnitFileResult{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fd := c.open(t)
			if fd >= 0 && fd < 1<<20 {
				defer unix.Close(fd)
			}
			got, err := o.File(fd)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// The test object's maps are the guard's: same C types, same sizes, so
// user space's values for the guard fit them.
func TestBPFUnitObjectHasTheGuardsMaps(t *testing.T) {
	unit, err := LoadUnit()
	if err != nil {
		t.Fatal(err)
	}
	guard, err := bpf.LoadGuard()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"active", "policies", "rules", "matchers", "counters"} {
		u, g := unit.Maps[name], guard.Maps[name]
		if u == nil || g == nil {
			t.Fatalf("map %s: in the test object %v, in the guard %v", name, u != nil, g != nil)
		}
		if u.Type != g.Type || u.KeySize != g.KeySize || u.ValueSize != g.ValueSize || u.MaxEntries != g.MaxEntries {
			t.Errorf("map %s: test object %v %d/%d/%d, guard %v %d/%d/%d", name,
				u.Type, u.KeySize, u.ValueSize, u.MaxEntries, g.Type, g.KeySize, g.ValueSize, g.MaxEntries)
		}
	}
}
