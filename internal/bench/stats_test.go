package bench

import (
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	values := make([]float64, 100)
	for i := range values {
		values[i] = float64(100 - i) // 100..1, unsorted
	}
	values[0] = 0
	got := Summarize(values)
	// 0..99: the nearest-rank p50 is the 50th value, 49.
	want := Summary{N: 100, Min: 0, Median: 49, P90: 89, P99: 98, Max: 99, NonZero: 0.99}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if s := Summarize([]float64{7}); s.Min != 7 || s.Median != 7 || s.P99 != 7 || s.NonZero != 1 {
		t.Errorf("one value: %+v", s)
	}
	if s := Summarize(nil); s.N != 0 {
		t.Errorf("no values: %+v", s)
	}
	if s := Summarize([]float64{0, 0, 0}); s.NonZero != 0 || s.Max != 0 {
		t.Errorf("all zero: %+v", s)
	}
}

func TestAccountingExact(t *testing.T) {
	for a, want := range map[Accounting]bool{
		{Offered: 10, Matched: 10, Delivered: 7, Lost: 3}: true,
		{Offered: 10, Matched: 10, Delivered: 7, Lost: 2}: false, // one unaccounted
		{Offered: 10, Matched: 9, Delivered: 7, Lost: 2}:  false, // the kernel missed one
		{Offered: 10, Matched: 10, Delivered: 10}:         true,
	} {
		if a.Exact() != want {
			t.Errorf("%+v: Exact() = %v", a, !want)
		}
	}
}

// A miss is reported, not hidden: each target follows its figures.
func TestTargets(t *testing.T) {
	r := &Report{
		Escape: []Approach{
			{Name: "sigguard (in-kernel signal)", Escaped: Summarize([]float64{0, 0, 0})},
			{Name: "sigguard, both CPUs loaded", Escaped: Summarize([]float64{0, 1, 0})},
			{Name: "hash map polled every 1 ms", Escaped: Summarize([]float64{500})},
		},
		Overhead: []Overhead{
			{Config: configNothing, Syscall: "ptrace", Median: 400},
			{Config: configNotMatching, Syscall: "ptrace", Median: 900},
			{Config: configReported, Syscall: "ptrace", Median: 1500},
		},
		Throughput: []Throughput{{Drained: 1.2e6, Exact: true}, {Drained: 0.5e6, Exact: false}},
		EndToEnd:   []EndToEnd{{Processes: 1, Lines: 0.6e6, CPUPerLine: 0.5, Exact: true}},
		Footprint: Footprint{ReadyMillis: Summarize([]float64{80, 90, 200}), RSSMiB: Summarize([]float64{20}),
			Flood: FloodFootprint{AfterFlood: []ProcessMemory{{Process: "sigguard", RSS: 20}, {Process: "sigguard __watchdog", RSS: 5}}}},
	}
	want := []bool{true, false, false, true, false, false, true, true}
	got := r.Targets()
	if len(got) != len(want) {
		t.Fatalf("%d targets: %+v", len(got), got)
	}
	for i, tg := range got {
		if tg.Met != want[i] {
			t.Errorf("%s: met %v (%s), want %v", tg.Goal, tg.Met, tg.Stands, want[i])
		}
	}
}

// The memory target is every process sigguard runs, after the flood: the
// main process alone at ready does not meet it, and a total over 30 MB
// (28.6 MiB) misses it.
func TestRSSTargetCountsEveryProcessAfterTheFlood(t *testing.T) {
	for _, c := range []struct {
		after []ProcessMemory
		met   bool
	}{
		{[]ProcessMemory{{RSS: 20}, {RSS: 8}}, true},
		{[]ProcessMemory{{RSS: 20}, {RSS: 9}}, false}, // 29 MiB > 30 MB
		{[]ProcessMemory{{RSS: 29}}, false},
		{nil, false}, // not measured
	} {
		r := &Report{Footprint: Footprint{RSSMiB: Summarize([]float64{10}),
			Flood: FloodFootprint{AtReady: []ProcessMemory{{RSS: 10}}, AfterFlood: c.after}}}
		var rss *Target
		for _, tg := range r.Targets() {
			if strings.HasPrefix(tg.Goal, "RSS") {
				rss = &tg
			}
		}
		if rss == nil {
			t.Fatal("no RSS target")
		}
		if rss.Met != c.met {
			t.Errorf("after flood %+v: met %v (%s), want %v", c.after, rss.Met, rss.Stands, c.met)
		}
	}
}

// With --only, the report shows the steps that ran and judges only
// their targets; a step that ran and measured nothing is still judged,
// and misses.
func TestOnlyStepsThatRanAreShownAndJudged(t *testing.T) {
	r := &Report{Steps: []string{"hooks", "footprint"}}
	var goals []string
	for _, tg := range r.Targets() {
		goals = append(goals, tg.Goal)
		if tg.Met {
			t.Errorf("target %q met with nothing measured", tg.Goal)
		}
	}
	if len(goals) != 2 || !strings.HasPrefix(goals[0], "start-up") || !strings.HasPrefix(goals[1], "RSS") {
		t.Errorf("targets %q: want only the footprint's two (no hook ran, so the hook step has none)", goals)
	}
	var out strings.Builder
	r.WriteTables(&out)
	for _, absent := range []string{"Escape window", "Overhead", "Event throughput", "End to end"} {
		if strings.Contains(out.String(), absent) {
			t.Errorf("tables show %q, a step that did not run:\n%s", absent, out.String())
		}
	}
	for _, present := range []string{"Hook run time", "Start-up"} {
		if !strings.Contains(out.String(), present) {
			t.Errorf("tables lack %q, a step that ran:\n%s", present, out.String())
		}
	}
}
