package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedTableIsCurrent regenerates the table into a temporary file,
// twice, and compares both with the committed numbers_amd64.go.
func TestCommittedTableIsCurrent(t *testing.T) {
	committed, err := os.ReadFile("../../numbers_amd64.go")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		out := filepath.Join(t.TempDir(), "numbers_amd64.go")
		if err := run(out); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, committed) {
			t.Fatal("numbers_amd64.go is not what gennumbers makes; run go generate ./internal/syscalls and commit it")
		}
	}
}
