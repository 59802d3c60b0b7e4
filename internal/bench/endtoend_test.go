package bench

import (
	"fmt"
	"strings"
	"testing"
)

// The counter sees lines whole however the pipe splits them.
func TestLineCounterCountsInterventionsAndLost(t *testing.T) {
	c, err := newLineCounter()
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	var out strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&out, `{"type":"intervention","time":"x","pid":%d,"comm":"{\"type\":\"lost\",","cgroup":"/a"}`+"\n", i)
		if i%1000 == 0 {
			out.WriteString(`{"type":"lost","time":"x","lost":3,"lost_total":9}` + "\n")
		}
	}
	for rest := out.String(); rest != ""; {
		n := min(len(rest), 4093)
		if _, err := c.w.WriteString(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	c.w.Close()
	if err := c.wait(); err != nil {
		t.Fatal(err)
	}
	if got, lost := c.interventions.Load(), c.lost.Load(); got != 100_000 || lost != 300 {
		t.Errorf("counted %d interventions and %d lost, want 100000 and 300", got, lost)
	}
}

func TestEndToEndTarget(t *testing.T) {
	point := func(lines, cpu float64, exact bool) EndToEnd {
		return EndToEnd{Processes: 2, Lines: lines, CPUPerLine: cpu, Exact: exact, Share: 0.9, ReaderShare: 0.93}
	}
	for _, c := range []struct {
		points []EndToEnd
		met    bool
	}{
		{nil, false},
		{[]EndToEnd{point(1.1e6, 0.6, true)}, true},
		{[]EndToEnd{point(0.9e6, 0.6, true)}, false},
		{[]EndToEnd{point(1.1e6, 1.2, true)}, false},
		{[]EndToEnd{point(1.1e6, 0.6, false)}, false},
	} {
		r := &Report{EndToEnd: c.points}
		if got := r.endToEndTarget(); got.Met != c.met {
			t.Errorf("%+v: met %v, want %v (%s)", c.points, got.Met, c.met, got.Stands)
		}
	}
}
