// Package metrics exports what a guard does as Prometheus metrics: what
// events report (interventions, failed sends, kill latency) as they arrive,
// and the kernel's own counters (losses, confirmations, per-rule counts,
// ring buffer fill) when scraped.
package metrics

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/guard"
)

// Metrics is the registry for one guard.
type Metrics struct {
	registry      *prometheus.Registry
	interventions *prometheus.CounterVec
	failedSends   *prometheus.CounterVec
	killLatency   prometheus.Histogram
}

// New registers the metrics of g.
func New(g *guard.Guard) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		interventions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigguard_interventions_total",
			Help: "Interventions reported, by rule, syscall, action and result (0, or the errno the kernel gave).",
		}, []string{"rule", "syscall", "action", "result"}),
		failedSends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigguard_failed_sends_total",
			Help: "Signals the kernel refused to queue, by errno.",
		}, []string{"errno"}),
		killLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sigguard_kill_latency_seconds",
			Help:    "From the offending syscall's entry to the killed process's exit, both stamped by the kernel.",
			Buckets: prometheus.ExponentialBuckets(25e-6, 2, 14), // 25 µs to 200 ms
		}),
	}
	m.registry.MustRegister(m.interventions, m.failedSends, m.killLatency, &kernelCounters{g: g})
	return m
}

// Observe counts one event.
func (m *Metrics) Observe(ev *guard.Event) {
	switch ev.Kind {
	case guard.KindIntervention:
		result := "0"
		if ev.Action == guard.ActionAudit {
			result = "audit"
		} else if ev.Denied && ev.Action == guard.ActionDeny {
			result = "denied"
		} else if e := ev.Errno(); e != 0 {
			result = errnoName(e)
			m.failedSends.WithLabelValues(result).Inc()
		}
		m.interventions.WithLabelValues(ev.Rule, ev.Syscall.String(), ev.Action.String(), result).Inc()
	case guard.KindExited:
		m.killLatency.Observe(ev.Latency.Seconds())
	}
}

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

func errnoName(e unix.Errno) string {
	if name := unix.ErrnoName(e); name != "" {
		return name
	}
	return strconv.Itoa(int(e))
}

// kernelCounters reads the guard's kernel-side counters at scrape time.
type kernelCounters struct{ g *guard.Guard }

var (
	lostDesc        = prometheus.NewDesc("sigguard_events_lost_total", "Events the kernel dropped because the ring buffer was full.", nil, nil)
	confirmedDesc   = prometheus.NewDesc("sigguard_kills_confirmed_total", "SIGKILLs followed by the process's exit.", nil, nil)
	unconfirmedDesc = prometheus.NewDesc("sigguard_kills_unconfirmed_total", "SIGKILLed processes still alive 1 s later.", nil, nil)
	missedDesc      = prometheus.NewDesc("sigguard_missed_runs_total", "Calls the kernel did not run sigguard's programs for (another BPF program was running).", nil, nil)
	unresolvedDesc  = prometheus.NewDesc("sigguard_unresolved_targets_total", "Matched calls whose target could not be read; target rules held for them.", nil, nil)
	ruleDesc        = prometheus.NewDesc("sigguard_rule_matches_total", "Calls each rule matched, counted in the kernel (lost events included).", []string{"rule"}, nil)
	ruleSentDesc    = prometheus.NewDesc("sigguard_rule_signals_sent_total", "Signals each rule had the kernel queue.", []string{"rule"}, nil)
	ruleFailedDesc  = prometheus.NewDesc("sigguard_rule_failed_sends_total", "Signals the kernel refused, by rule.", []string{"rule"}, nil)
	deniedDesc      = prometheus.NewDesc("sigguard_calls_denied_total", "Calls refused with EPERM in a deny tier (lsm, fmod_ret).", nil, nil)
	sharersDesc     = prometheus.NewDesc("sigguard_sharers_killed_total", "Processes killed for sharing the descriptor table of a caller killed for a descriptor to another process.", nil, nil)
	heldBackDesc    = prometheus.NewDesc("sigguard_held_back_total", "Matched calls a rule's at_most held back: no signal, no event.", nil, nil)
	ruleHeldDesc    = prometheus.NewDesc("sigguard_rule_held_back_total", "Matched calls each rule's at_most held back.", []string{"rule"}, nil)
	fillDesc        = prometheus.NewDesc("sigguard_ring_buffer_fill_ratio", "Share of the ring buffer holding unread events.", nil, nil)
)

func (k *kernelCounters) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{lostDesc, confirmedDesc, unconfirmedDesc, missedDesc, unresolvedDesc, ruleDesc, ruleSentDesc, ruleFailedDesc, deniedDesc, sharersDesc, heldBackDesc, ruleHeldDesc, fillDesc} {
		ch <- d
	}
}

func (k *kernelCounters) Collect(ch chan<- prometheus.Metric) {
	if s, err := k.g.Stats(); err == nil {
		for d, v := range map[*prometheus.Desc]uint64{
			lostDesc: s.EventsLost, confirmedDesc: s.Confirmed, unconfirmedDesc: s.Unconfirmed,
			missedDesc: s.MissedRuns, unresolvedDesc: s.Unresolved, deniedDesc: s.Denied, sharersDesc: s.SharersKilled,
			heldBackDesc: s.HeldBack,
		} {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
		}
	}
	if rules, err := k.g.RuleStats(); err == nil {
		for _, r := range rules {
			ch <- prometheus.MustNewConstMetric(ruleDesc, prometheus.CounterValue, float64(r.Matched), r.Rule)
			ch <- prometheus.MustNewConstMetric(ruleSentDesc, prometheus.CounterValue, float64(r.Signalled), r.Rule)
			ch <- prometheus.MustNewConstMetric(ruleFailedDesc, prometheus.CounterValue, float64(r.FailedSends), r.Rule)
			ch <- prometheus.MustNewConstMetric(ruleHeldDesc, prometheus.CounterValue, float64(r.HeldBack), r.Rule)
		}
	}
	ch <- prometheus.MustNewConstMetric(fillDesc, prometheus.GaugeValue, k.g.RingFill())
}
