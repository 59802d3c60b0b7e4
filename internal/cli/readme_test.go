package cli

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/output"
)

// readmeBlock returns the README's first fenced block whose first line
// starts with prefix.
func readmeBlock(t *testing.T, prefix string) []string {
	t.Helper()
	text, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(text), "```")
	// Odd pieces are inside fences; their first line is the language.
	for i := 1; i < len(blocks); i += 2 {
		_, body, _ := strings.Cut(blocks[i], "\n")
		if strings.HasPrefix(body, prefix) {
			return strings.Split(strings.TrimSuffix(body, "\n"), "\n")
		}
	}
	t.Fatalf("README.md has no sample starting with %q", prefix)
	return nil
}

var digits = regexp.MustCompile(`[0-9]+`)

// shape keeps a line's words and drops its numbers.
func shape(line string) string { return digits.ReplaceAllString(strings.TrimRight(line, " "), "N") }

// The README's sample outputs show what sigguard prints now: the table's
// columns, and the summary's and status's counters.
func TestReadmeSamplesMatchTheOutput(t *testing.T) {
	var header bytes.Buffer
	w := output.New(output.Table, &header)
	if err := errors.Join(w.Begin(), w.Flush()); err != nil {
		t.Fatal(err)
	}
	table := readmeBlock(t, "TIME ")
	if got, want := strings.TrimRight(table[0], " "), strings.TrimRight(strings.TrimSuffix(header.String(), "\n"), " "); got != want {
		t.Errorf("README table header\n%q\nthe table prints\n%q", got, want)
	}
	for _, row := range table[1:] {
		if got, want := len(strings.Fields(row)), len(strings.Fields(header.String())); got != want {
			t.Errorf("README table row %q has %d columns, the header %d", row, got, want)
		}
	}

	summary := readmeBlock(t, "sigguard: stopped:")
	for i, want := range []string{"sigguard: " + stoppedLine(guard.Stats{}), "sigguard: " + ruleLine(guard.RuleStats{Rule: "command-line"})} {
		if i >= len(summary) || shape(summary[i]) != shape(want) {
			t.Errorf("README summary line %d: %q, sigguard prints %q", i+1, summary, want)
		}
	}

	status := readmeBlock(t, "pinned guard at ")
	var printed bytes.Buffer
	printStatus(&printed, &guard.PinStatus{Dir: guard.DefaultPinDir, Tier: guard.TierSignal, LastReport: time.Now(),
		Hooks: []string{"sys_enter_ptrace"}, Rules: []guard.RuleStats{{Rule: "command-line"}}})
	for _, want := range strings.Split(strings.TrimSuffix(printed.String(), "\n"), "\n") {
		label, _, _ := strings.Cut(want, " ")
		if label == "hooks:" || label == "reader:" {
			continue // they vary with the policy and the state
		}
		found := false
		for _, line := range status {
			found = found || shape(line) == shape(want)
		}
		if !found {
			t.Errorf("README's status sample has no line like %q:\n%s", want, strings.Join(status, "\n"))
		}
	}
}
