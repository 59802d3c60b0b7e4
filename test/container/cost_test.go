package container

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sigguard/sigguard/internal/kernfs"
)

// costWindow is how long each state is measured.
const costWindow = 10 * time.Second

// BenchmarkPerNodeCost measures what one sigguard pod costs its node, run
// as the DaemonSet runs it with the policy the DaemonSet ships (an audit
// rule on memory-access, for every process of the node): its CPU and
// memory idle, and under a flood of matched calls (one process in a
// workload container calling process_vm_readv on another as fast as it
// can, each call reported). docs/fleet.md shows its figures.
//
// CPU is sigguard's own (all processes of its container, user and system
// time); the programs in the kernel run on the callers' CPU time and are
// measured by `sigguard bench`. Memory is the resident set of sigguard's
// processes, and apart from it the BPF maps it holds (which Linux 5.11+
// charges to the pod's memory cgroup). Its standard output goes to no log
// driver, so the node's log pipeline is not counted: it pays for every
// event line besides.
func BenchmarkPerNodeCost(b *testing.B) {
	requireEngine(b)
	s := startSigguard(b, shippedPolicy(b), guardOpts{dockerArgs: []string{"--log-driver", "none"}})
	w := startWorkload(b, "--cap-add", "SYS_PTRACE") // Docker's seccomp profile wants it for process_vm_readv
	b.ResetTimer()
	for range b.N {
		idle := measure(b, s, func() { time.Sleep(costWindow) })
		flood := measure(b, s, func() {
			script := fmt.Sprintf("OFFENDER_CALLS=2000000000 timeout %d offender vm-readv 1; echo status=$?", int(costWindow.Seconds()))
			if out, _ := w.exec(b, script); scriptValue(b, out, "status") != 124 {
				b.Fatalf("the flood did not run its time:\n%s", out)
			}
		})
		if flood.events == 0 || flood.matched < flood.events+flood.lost {
			b.Fatalf("the flood matched %.0f calls, reported %.0f and lost %.0f: it measured nothing, or lost count", flood.matched, flood.events, flood.lost)
		}
		idle.report(b, "idle")
		// Calls matched while idle: other processes of the node that
		// read memory (a debugger, a leftover test) make idle not idle.
		b.ReportMetric(idle.matched/idle.wall.Seconds(), "idle-matched/s")
		flood.report(b, "flood")
		b.ReportMetric(flood.matched/flood.wall.Seconds(), "flood-matched/s")
		b.ReportMetric(flood.events/flood.wall.Seconds(), "flood-events/s")
		b.ReportMetric(flood.lost/flood.wall.Seconds(), "flood-lost/s")
		b.ReportMetric(flood.maps, "bpf-maps-MiB")
	}
	b.ReportMetric(0, "ns/op")
}

// usage is what sigguard's container used over one window.
type usage struct {
	wall         time.Duration
	cpu          time.Duration // user and system time of its processes
	rss, maps    float64       // MiB at the window's end
	matched      float64       // calls the rules matched, counted in the kernel
	events, lost float64       // events reported and lost in the window
}

func (u usage) report(b *testing.B, state string) {
	b.ReportMetric(1000*u.cpu.Seconds()/u.wall.Seconds(), state+"-millicores")
	b.ReportMetric(u.rss, state+"-rss-MiB")
}

// measure runs window and returns what sigguard used meanwhile.
func measure(b *testing.B, s *sigguard, window func()) usage {
	b.Helper()
	matched0, events0, lost0 := metricSum(b, s, "sigguard_rule_matches_total"),
		metricSum(b, s, "sigguard_interventions_total"), metricSum(b, s, "sigguard_events_lost_total")
	cpu0 := containerCPU(b, s.container)
	start := time.Now()
	window()
	u := usage{wall: time.Since(start)}
	u.cpu = containerCPU(b, s.container) - cpu0
	u.matched = metricSum(b, s, "sigguard_rule_matches_total") - matched0
	u.events = metricSum(b, s, "sigguard_interventions_total") - events0
	u.lost = metricSum(b, s, "sigguard_events_lost_total") - lost0
	u.rss, u.maps = containerMemory(b, s.container)
	return u
}

// shippedPolicy is the policy in the DaemonSet's ConfigMap.
func shippedPolicy(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "kubernetes", "configmap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(raw, &cm); err != nil || cm.Data["policy.yaml"] == "" {
		t.Fatalf("deploy/kubernetes/configmap.yaml has no data.policy.yaml (%v)", err)
	}
	return cm.Data["policy.yaml"]
}

// containerPids are the host pids of the processes in c's cgroup.
func containerPids(t testing.TB, c *container) []int {
	t.Helper()
	mount, err := kernfs.Cgroup2Mount()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(mount, c.cgroup(t), "cgroup.procs"))
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(raw)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on
// every architecture Linux builds for x86.
const clockTicks = 100

// containerCPU is the user and system time the processes in c's cgroup
// have used, their threads' included (fields 14 and 15 of /proc/PID/stat).
func containerCPU(t testing.TB, c *container) time.Duration {
	t.Helper()
	var ticks int64
	for _, pid := range containerPids(t, c) {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // exited
		}
		// The fields after the comm, which may hold spaces.
		fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
		for _, f := range fields[11:13] { // utime, stime: fields 14 and 15
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// containerMemory is the resident set of c's processes and the memory of
// the BPF maps they hold (each map once), in MiB.
func containerMemory(t testing.TB, c *container) (rss, maps float64) {
	t.Helper()
	seen := map[string]bool{}
	for _, pid := range containerPids(t, c) {
		rss += float64(statusKiB(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:")) / 1024
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fdinfo/*", pid))
		for _, fd := range fds {
			id, memlock := mapInfo(fd)
			if id != "" && !seen[id] {
				seen[id] = true
				maps += float64(memlock) / (1 << 20)
			}
		}
	}
	return rss, maps
}

// statusKiB is a "Name:   N kB" line's N from a /proc status file.
func statusKiB(path, name string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if v, ok := strings.CutPrefix(sc.Text(), name); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// mapInfo is a BPF map's id and memlock bytes from its descriptor's
// fdinfo; id is "" for other descriptors.
func mapInfo(path string) (id string, memlock int64) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch v = strings.TrimSpace(v); k {
		case "map_id":
			id = v
		case "memlock":
			memlock, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if !strings.Contains(string(raw), "map_type:") {
		return "", 0
	}
	return id, memlock
}

// metricSum is the sum of a metric's samples on sigguard's /metrics.
func metricSum(t testing.TB, s *sigguard, name string) float64 {
	t.Helper()
	resp, err := http.Get(s.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	// A labelled counter has no sample before its first event: 0.
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		if line != name && !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}
