// Package bench measures sigguard on the machine it runs on: how many calls
// an offender gets through before it dies, with sigguard and with the
// classic designs; what sigguard costs a syscall; how many events it
// delivers; how fast it starts and how much memory it holds.
package bench

import (
	"math"
	"sort"
)

// Summary describes a sample.
type Summary struct {
	N      int     `json:"n"`
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	P99    float64 `json:"p99"`
	Max    float64 `json:"max"`
	// NonZero is the share of values above zero (runs where any call
	// got through).
	NonZero float64 `json:"non_zero"`
}

// Summarize computes the summary of values; percentiles are nearest-rank.
func Summarize(values []float64) Summary {
	if len(values) == 0 {
		return Summary{}
	}
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	nonZero := 0
	for _, v := range sorted {
		if v > 0 {
			nonZero++
		}
	}
	return Summary{
		N:       len(sorted),
		Min:     sorted[0],
		Median:  percentile(sorted, 50),
		P90:     percentile(sorted, 90),
		P99:     percentile(sorted, 99),
		Max:     sorted[len(sorted)-1],
		NonZero: float64(nonZero) / float64(len(sorted)),
	}
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// Accounting is what a throughput point counted.
type Accounting struct {
	Offered   uint64 `json:"offered"`   // calls the offenders made
	Matched   uint64 `json:"matched"`   // interventions the kernel counted
	Delivered uint64 `json:"delivered"` // events the reader received
	Lost      uint64 `json:"lost"`      // events the kernel dropped, by its counter
}

// Exact reports whether every call is accounted for: the kernel saw each
// one, and each is either delivered or counted as lost.
func (a Accounting) Exact() bool {
	return a.Matched == a.Offered && a.Delivered+a.Lost == a.Offered
}
