package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// status and unpin name a directory: one that cannot hold pins is bad
// input (exit 2), and unpin leaves what is in it alone.
func TestPinCommandsRefuseDirectoriesOutsideBPFFS(t *testing.T) {
	dir := t.TempDir()
	kept := filepath.Join(dir, "maps", "notes.txt")
	if err := os.MkdirAll(filepath.Dir(kept), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kept, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"unpin", "--pin-dir", dir},
		{"status", "--pin-dir", dir},
		{"unpin", "--pin-dir", "relative"},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), args, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), "pin directory") || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 with one line naming the pin directory", args, code, stderr.String())
		}
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("unpin removed a file outside bpffs: %v", err)
	}
}
