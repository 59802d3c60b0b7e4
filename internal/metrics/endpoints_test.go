package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

// /healthz answers 200 in every state; /readyz only while the guard
// enforces, and otherwise says why in one line.
func TestEndpointsFollowTheGuardsState(t *testing.T) {
	e := NewEndpoints()
	h := e.Handler()
	check := func(state string, wantReady int, wantReason string) {
		t.Helper()
		if code, body := get(t, h, "/healthz"); code != http.StatusOK {
			t.Errorf("%s: /healthz %d %q, want 200", state, code, body)
		}
		code, body := get(t, h, "/readyz")
		if code != wantReady || !strings.Contains(body, wantReason) || strings.Count(body, "\n") != 1 {
			t.Errorf("%s: /readyz %d %q, want %d and one line saying %q", state, code, body, wantReady, wantReason)
		}
	}
	check("start-up", http.StatusServiceUnavailable, "starting")
	if code, _ := get(t, h, "/metrics"); code != http.StatusServiceUnavailable {
		t.Errorf("/metrics before a guard runs: %d, want 503", code)
	}
	e.Ready()
	check("enforcing", http.StatusOK, "ready")
	e.NotReady("failed: read ring buffer: bad file descriptor")
	check("after a failure", http.StatusServiceUnavailable, "failed: read ring buffer")
	if code, _ := get(t, h, "/nothing"); code != http.StatusNotFound {
		t.Errorf("/nothing: %d, want 404", code)
	}
}
