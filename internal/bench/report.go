package bench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"
)

// Report is everything a bench run measured.
type Report struct {
	Machine Machine `json:"machine"`
	Runs    int     `json:"runs"`
	// Steps are the keys of the steps that ran (see Steps); none means all.
	Steps      []string     `json:"steps,omitempty"`
	Escape     []Approach   `json:"escape_window"`
	Overhead   []Overhead   `json:"overhead"`
	Hooks      []HookCost   `json:"hook_run_time"`
	Open       OpenCost     `json:"open_under_memory_access"`
	Throughput []Throughput `json:"throughput"`
	EndToEnd   []EndToEnd   `json:"end_to_end"`
	Footprint  Footprint    `json:"footprint"`
}

// Machine says where the figures come from.
type Machine struct {
	Date   string `json:"date"`
	Kernel string `json:"kernel"`
	CPU    string `json:"cpu"`
	CPUs   int    `json:"cpus"`
	Go     string `json:"go"`
}

func describeMachine() Machine {
	var uts unix.Utsname
	unix.Uname(&uts)
	return Machine{
		Date:   time.Now().UTC().Format(time.RFC3339),
		Kernel: unix.ByteSliceToString(uts.Release[:]),
		CPU:    cpuModel(),
		CPUs:   runtime.NumCPU(),
		Go:     runtime.Version(),
	}
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown"
}

// WriteTables prints the report for people: the steps that ran, then the
// targets they are judged against.
func (r *Report) WriteTables(w io.Writer) {
	fmt.Fprintf(w, "sigguard bench, %s, Linux %s, %s (%d CPUs), %s\n", r.Machine.Date, r.Machine.Kernel, r.Machine.CPU, r.Machine.CPUs, r.Machine.Go)
	for _, section := range []struct {
		step  string
		write func(io.Writer)
	}{
		{"escape", r.writeEscape}, {"overhead", r.writeOverhead}, {"hooks", r.writeHooks},
		{"throughput", r.writeThroughput}, {"endtoend", r.writeEndToEnd}, {"footprint", r.writeFootprint},
	} {
		if r.ran(section.step) {
			section.write(w)
		}
	}
	fmt.Fprintln(w, "\nTargets")
	for _, tg := range r.Targets() {
		mark := "met"
		if !tg.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "  %-6s %s: %s\n", mark, tg.Goal, tg.Stands)
	}
}

// writeEscape prints the escape window and the time to exit per approach.
func (r *Report) writeEscape(w io.Writer) {
	fmt.Fprintf(w, "\nEscape window: calls that returned to the offender after its first offending call (%d runs each)\n", r.Runs)
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(t, "approach\tmin\tmedian\tp90\tp99\tmax\truns with any\t")
	for _, a := range r.Escape {
		e := a.Escaped
		fmt.Fprintf(t, "%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f%%\t\n", a.Name, e.Min, e.Median, e.P90, e.P99, e.Max, 100*e.NonZero)
	}
	t.Flush()
	fmt.Fprintln(w, "\nFrom the first offending call's entry to the process's exit, µs (kernel timestamps)")
	t = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(t, "approach\tmin\tmedian\tp90\tp99\tmax\t")
	for _, a := range r.Escape {
		l := a.LatencyMicros
		fmt.Fprintf(t, "%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t\n", a.Name, l.Min, l.Median, l.P90, l.P99, l.Max)
	}
	t.Flush()
}

// writeOverhead prints ns per call under each configuration.
func (r *Report) writeOverhead(w io.Writer) {
	fmt.Fprintf(w, "\nOverhead: ns per call (%d rounds of %d calls; median and best round)\n", overheadRounds, overheadCalls)
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(t, "configuration\tgetpid median\tgetpid min\tfailing ptrace median\tfailing ptrace min\t")
	for i := 0; i+1 < len(r.Overhead); i += 2 {
		g, p := r.Overhead[i], r.Overhead[i+1]
		fmt.Fprintf(t, "%s\t%.0f\t%.0f\t%.0f\t%.0f\t\n", g.Config, g.Median, g.Min, p.Median, p.Min)
	}
	t.Flush()
}

// writeThroughput prints the event sweep.
func (r *Report) writeThroughput(w io.Writer) {
	fmt.Fprintln(w, "\nEvent throughput (audit mode): every call is delivered or counted as lost")
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(t, "processes\toffered/s per process\toffered\tdelivered\tlost\texact\toffered/s\tdelivered/s\treader CPU\t")
	for _, p := range r.Throughput {
		rate := "flat out"
		if p.RatePerProc > 0 {
			rate = fmt.Sprint(p.RatePerProc)
		}
		a := p.Accounting
		fmt.Fprintf(t, "%d\t%s\t%d\t%d\t%d\t%v\t%.0f\t%.0f\t%.0f%%\t\n", p.Processes, rate, a.Offered, a.Delivered, a.Lost, p.Exact,
			p.OfferedRate, p.Drained, 100*p.ReaderCPU)
	}
	t.Flush()
}

// writeEndToEnd prints the binary writing JSON lines.
func (r *Report) writeEndToEnd(w io.Writer) {
	fmt.Fprintln(w, "\nEnd to end: the sigguard binary, --audit --output json into a pipe, offenders flat out")
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(t, "processes\toffered\tlines\tlost\texact\toffered/s\tlines/s\tCPU µs/line\tdelivered\treader alone\t")
	for _, p := range r.EndToEnd {
		a := p.Accounting
		fmt.Fprintf(t, "%d\t%d\t%d\t%d\t%v\t%.0f\t%.0f\t%.2f\t%.1f%%\t%.1f%%\t\n", p.Processes, a.Offered, a.Delivered, a.Lost, p.Exact,
			p.Offered, p.Lines, p.CPUPerLine, 100*p.Share, 100*p.ReaderShare)
	}
	t.Flush()
}

// writeFootprint prints start-up and the memory of every process.
func (r *Report) writeFootprint(w io.Writer) {
	f := r.Footprint
	fmt.Fprintf(w, "\nStart-up: exec to ready file %.1f ms median (min %.1f, max %.1f); RSS %.1f MiB median (max %.1f)\n",
		f.ReadyMillis.Median, f.ReadyMillis.Min, f.ReadyMillis.Max, f.RSSMiB.Median, f.RSSMiB.Max)
	writeFloodFootprint(w, f.Flood)
}

// Target is one goal and where the run left it.
type Target struct {
	Goal   string `json:"goal"`
	Stands string `json:"stands"`
	Met    bool   `json:"met"`
}

// Targets judges the report against the project's goals; a miss is shown,
// not hidden.
func (r *Report) Targets() []Target {
	var out []Target
	if r.ran("escape") {
		out = append(out, r.escapeTargets()...)
	}
	if r.ran("overhead") {
		out = append(out, r.overheadTargets()...)
	}
	if r.ran("hooks") {
		out = append(out, r.hookTargets()...)
	}
	if r.ran("throughput") {
		out = append(out, r.throughputTargets()...)
	}
	if r.ran("endtoend") {
		out = append(out, r.endToEndTarget())
	}
	if r.ran("footprint") {
		out = append(out, r.footprintTargets()...)
	}
	return out
}

// ran says whether the step with this key ran: a step that ran and
// measured nothing still has its targets, missed.
func (r *Report) ran(step string) bool {
	return len(r.Steps) == 0 || slices.Contains(r.Steps, step)
}

func (r *Report) escapeTargets() []Target {
	var out []Target
	for _, a := range r.Escape {
		if strings.HasPrefix(a.Name, "sigguard") {
			out = append(out, Target{
				Goal:   "0 calls escape in 100% of runs: " + a.Name,
				Stands: fmt.Sprintf("max %.0f calls, %.0f%% of runs with any", a.Escaped.Max, 100*a.Escaped.NonZero),
				Met:    a.Escaped.N > 0 && a.Escaped.Max == 0,
			})
		}
	}
	return out
}

func (r *Report) overheadTargets() []Target {
	var out []Target
	// The cost of reporting: matching the caller and writing the event,
	// against the same hook on a caller no rule matches. Against nothing
	// attached at all, the hook's own cost is added; both are shown.
	bare := r.overheadOf(configNothing, "ptrace")
	hooked, reported := r.overheadOf(configNotMatching, "ptrace"), r.overheadOf(configReported, "ptrace")
	if hooked > 0 && reported > 0 {
		cost := reported - hooked
		out = append(out, Target{Goal: "a reported intervention costs <= 500 ns on the offending call",
			Stands: fmt.Sprintf("%.0f ns (matching + event: %.0f ns vs %.0f ns for a caller no rule matches; %.0f ns over nothing attached)",
				cost, reported, hooked, reported-bare), Met: cost <= 500})
	}
	return out
}

func (r *Report) throughputTargets() []Target {
	var out []Target
	var best float64
	exact := len(r.Throughput) > 0
	for _, p := range r.Throughput {
		best = max(best, p.Drained)
		exact = exact && p.Exact
	}
	out = append(out, Target{Goal: ">= 1 M events/s drained", Stands: fmt.Sprintf("%.2f M/s at best", best/1e6), Met: best >= 1e6})
	out = append(out, Target{Goal: "exact loss accounting", Stands: fmt.Sprintf("delivered + lost == offered at every point: %v", exact), Met: exact})
	return out
}

func (r *Report) footprintTargets() []Target {
	var out []Target
	f := r.Footprint
	out = append(out, Target{Goal: "start-up <= 100 ms to ready (median)", Stands: fmt.Sprintf("%.1f ms median, %.1f max", f.ReadyMillis.Median, f.ReadyMillis.Max),
		Met: f.ReadyMillis.N > 0 && f.ReadyMillis.Median <= 100})
	total := TotalRSS(f.Flood.AfterFlood)
	out = append(out, Target{Goal: "RSS <= 30 MB, every process sigguard runs, after a flood",
		Stands: fmt.Sprintf("%.1f MiB in %d processes (%.1f MiB at ready)", total, len(f.Flood.AfterFlood), TotalRSS(f.Flood.AtReady)),
		Met:    total > 0 && total*1.048576 <= 30})
	return out
}

func (r *Report) overheadOf(config, syscall string) float64 {
	for _, o := range r.Overhead {
		if o.Config == config && o.Syscall == syscall {
			return o.Median
		}
	}
	return 0
}

// writeFloodFootprint prints each process's memory at ready and after the
// flood, and the totals.
func writeFloodFootprint(w io.Writer, f FloodFootprint) {
	fmt.Fprintf(w, "\nMemory of every process sigguard runs (audit, JSON to /dev/null), at ready and after %d events flat out, MiB\n", f.Events)
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(t, "when\tprocess\tRSS\tanon\tfile\tshmem\tPSS\t")
	for _, when := range []struct {
		name string
		ps   []ProcessMemory
	}{{"at ready", f.AtReady}, {"after flood", f.AfterFlood}} {
		var pss float64
		for _, p := range when.ps {
			fmt.Fprintf(t, "%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", when.name, p.Process, p.RSS, p.Anon, p.File, p.Shmem, p.PSS)
			pss += p.PSS
		}
		fmt.Fprintf(t, "%s\ttotal\t%.1f\t\t\t\t%.1f\t\n", when.name, TotalRSS(when.ps), pss)
	}
	t.Flush()
}

// endToEndTarget judges the binary writing JSON lines: lines per second at
// best, the most CPU a line cost, and exact accounting at every point; the
// delivered shares are shown beside the reader's own.
func (r *Report) endToEndTarget() Target {
	var best, worstCPU float64
	exact := len(r.EndToEnd) > 0
	var shares []string
	for _, p := range r.EndToEnd {
		best = max(best, p.Lines)
		worstCPU = max(worstCPU, p.CPUPerLine)
		exact = exact && p.Exact
		shares = append(shares, fmt.Sprintf("%d offenders %.1f%% (reader alone %.1f%%)", p.Processes, 100*p.Share, 100*p.ReaderShare))
	}
	return Target{
		Goal: "end-to-end JSON >= 1 M events/s, <= 1 µs CPU/event",
		Stands: fmt.Sprintf("%.2f M lines/s at best, %.2f µs CPU per line at most; delivered %s; exact: %v",
			best/1e6, worstCPU, strings.Join(shares, ", "), exact),
		Met: best >= 1e6 && worstCPU <= 1 && exact,
	}
}
