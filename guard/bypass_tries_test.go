package guard_test

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
)

// TestBypassTries measures how often the routes whose outcome may vary
// from run to run go through: every bypass row with race or open set (or
// the modes SIGGUARD_BYPASS_MODES lists, comma-separated), each
// SIGGUARD_BYPASS_TRIES times, in the signal tier. Per route it logs in
// how many tries the caller was killed, an event came, the call returned
// and the effect landed. It asserts nothing: it is how the counts in the
// table's notes were measured. Off unless SIGGUARD_BYPASS_TRIES is set:
//
//	SIGGUARD_BYPASS_TRIES=20 go test -count=1 -run TestBypassTries ./guard/
func TestBypassTries(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SIGGUARD_BYPASS_TRIES"))
	if n <= 0 {
		t.Skip("set SIGGUARD_BYPASS_TRIES=N to measure")
	}
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	r := startGuard(t, cg, guard.Rule{Syscalls: guard.Presets["memory-access"], Action: guard.ActionSignalProcess,
		Signal: syscall.SIGKILL}, guard.Config{Tier: guard.TierSignal}, 0)
	g := &scopedGuard{cg, r}
	for _, b := range triedRoutes(os.Getenv("SIGGUARD_BYPASS_MODES")) {
		t.Run(b.route, func(t *testing.T) {
			var c tally
			for i := range n {
				t.Run(strconv.Itoa(i), func(t *testing.T) { c.add(runBypass(t, offender, g, b)) })
			}
			t.Logf("%s: %d tries: killed %d, with an event %d, returned %d, landed %d",
				b.mode, n, c.killed, c.events, c.returned, c.landed)
		})
	}
}

// triedRoutes are the rows to measure: the modes listed, or else every
// native row declared open or racing. A listed mode no row has (one
// attempt of a row that retries, say) is tried as a route of its own,
// after the effect its name ends in.
func triedRoutes(modes string) []bypass {
	if modes == "" {
		var out []bypass
		for _, b := range bypasses {
			if !b.compat && (b.open != "" || b.race != "") {
				out = append(out, b)
			}
		}
		return out
	}
	var out []bypass
	for _, mode := range strings.Split(modes, ",") {
		i := slices.IndexFunc(bypasses, func(b bypass) bool { return b.mode == mode })
		if i >= 0 {
			out = append(out, bypasses[i])
			continue
		}
		b := bypass{route: mode, mode: mode, open: "measured", race: "measured"}
		switch {
		case strings.HasSuffix(mode, "-marker"):
			b.effect = effectMarker
		case strings.HasSuffix(mode, "-loot"):
			b.effect = effectLoot
		}
		out = append(out, b)
	}
	return out
}

// tally counts outcomes over tries.
type tally struct{ killed, events, returned, landed int }

func (c *tally) add(out outcome) {
	for _, n := range []struct {
		p  *int
		ok bool
	}{{&c.killed, out.killed}, {&c.events, len(out.events) > 0}, {&c.returned, out.returned}, {&c.landed, out.landed}} {
		if n.ok {
			*n.p++
		}
	}
}
