package metrics

import (
	"fmt"
	"net/http"
	"sync"
)

// Endpoints serves what an orchestrator asks a running sigguard:
//
//	/healthz  200 while the process runs and answers (liveness)
//	/readyz   200 only while the guard enforces: programs attached and
//	          the event reader running; otherwise 503 and one line saying why
//	/metrics  the guard's metrics, once it has started
//
// They are served from before the guard loads, so that a probe during
// start-up gets an answer (503 from /readyz) rather than a refused
// connection. A nil *Endpoints (nothing served) ignores every call.
type Endpoints struct {
	mu      sync.RWMutex // held for reading by every request
	ready   bool
	reason  string       // why not ready
	metrics http.Handler // nil while no guard runs
	mux     *http.ServeMux
}

// NewEndpoints starts not ready: the guard is still starting.
func NewEndpoints() *Endpoints {
	e := &Endpoints{reason: "starting: the programs are not attached yet", mux: http.NewServeMux()}
	e.mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	e.mux.HandleFunc("/readyz", e.serveReady)
	e.mux.HandleFunc("/metrics", e.serveMetrics)
	return e
}

// Handler serves the three paths.
func (e *Endpoints) Handler() http.Handler { return e.mux }

// Serve starts serving m at /metrics.
func (e *Endpoints) Serve(m *Metrics) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.metrics = m.Handler()
}

// Unserve stops serving metrics; it returns once no scrape is reading the
// guard's maps, which may then be closed.
func (e *Endpoints) Unserve() {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.metrics = nil
}

// Ready says the guard enforces: its programs are attached and its
// events are being read.
func (e *Endpoints) Ready() {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ready, e.reason = true, ""
}

// NotReady says the guard does not enforce, and why (one line).
func (e *Endpoints) NotReady(reason string) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ready, e.reason = false, reason
}

func (e *Endpoints) serveReady(w http.ResponseWriter, _ *http.Request) {
	e.mu.RLock()
	ready, reason := e.ready, e.reason
	e.mu.RUnlock()
	if !ready {
		http.Error(w, reason, http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready: enforcing")
}

func (e *Endpoints) serveMetrics(w http.ResponseWriter, r *http.Request) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.metrics == nil {
		http.Error(w, "no guard is running: "+e.reason, http.StatusServiceUnavailable)
		return
	}
	e.metrics.ServeHTTP(w, r)
}
