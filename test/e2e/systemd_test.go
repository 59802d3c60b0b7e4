package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigguard/sigguard/internal/testenv"
)

// The shipped unit passes systemd's own checks once pointed at a real
// binary, restarts on failure, and keeps the capabilities sigguard needs.
func TestSystemdUnit(t *testing.T) {
	analyze := testenv.RequireCommand(t, "systemd-analyze")
	bin := testenv.Build(t, "./cmd/sigguard")
	unit, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "deploy", "sigguard.service"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(unit)
	for _, want := range []string{"Restart=on-failure", "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes",
		"CapabilityBoundingSet=CAP_BPF CAP_PERFMON "} {
		if !strings.Contains(text, want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	path := filepath.Join(t.TempDir(), "sigguard.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(text, "/usr/local/bin/sigguard", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
