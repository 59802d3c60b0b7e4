package bench

import "testing"

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
