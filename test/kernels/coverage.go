package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// README.md shows two coverage tables measured by the bypass suite
// (TestBypassSuite in ./guard): the signal tier's, measured on the machine
// that runs the test command (scripts/coverage-table.sh), and the lsm
// tier's, measured here, in the coverageTarget guest, which logs the
// table on its console. A guest's table that is not README.md's block
// fails the matrix; with -readme (or -doc) the block is rewritten instead.
const (
	coverageTarget = "sid" // the newest kernel, with BPF LSM active
	coverageBegin  = "<!-- coverage-lsm:begin -->"
	coverageEnd    = "<!-- coverage-lsm:end -->"
)

// readmeCoverage returns the lines of README.md's lsm coverage block,
// between the markers.
func readmeCoverage(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	text := string(b)
	begin, end, err := coverageBlock(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if begin == end {
		return nil, nil
	}
	return strings.Split(strings.TrimSuffix(text[begin:end], "\n"), "\n"), nil
}

// coverageBlock finds the lines between the lsm coverage markers: text[begin:end].
func coverageBlock(text string) (begin, end int, err error) {
	lines := strings.SplitAfter(text, "\n")
	begins, ends := -1, -1
	offset := 0
	for _, line := range lines {
		switch strings.TrimSuffix(line, "\n") {
		case coverageBegin:
			if begins >= 0 {
				return 0, 0, errors.New("more than one " + coverageBegin + " line")
			}
			begins = offset + len(line)
		case coverageEnd:
			if ends >= 0 {
				return 0, 0, errors.New("more than one " + coverageEnd + " line")
			}
			ends = offset
		}
		offset += len(line)
	}
	if begins < 0 || ends < 0 || ends < begins {
		return 0, 0, fmt.Errorf("needs a %s line, then a %s line", coverageBegin, coverageEnd)
	}
	return begins, ends, nil
}

// spliceCoverage is text with the lsm coverage block replaced by table.
func spliceCoverage(text string, table []string) (string, error) {
	begin, end, err := coverageBlock(text)
	if err != nil {
		return "", err
	}
	block := ""
	if len(table) > 0 {
		block = strings.Join(table, "\n") + "\n"
	}
	return text[:begin] + block + text[end:], nil
}

// checkCoverage judges the coverage target's table against README.md's
// block (readme: its lines): a guest that printed none, or another one,
// fails, unless the block is to be rewritten from it.
func checkCoverage(r *result, readme []string, rewrite bool) {
	if r.target.id != coverageTarget {
		return
	}
	switch {
	case len(r.coverage) == 0:
		r.problems = append(r.problems, "TestBypassSuite logged no coverage table (it does when it passes)")
	case !rewrite && !slices.Equal(r.coverage, readme):
		r.problems = append(r.problems, "README.md's lsm coverage table is not what TestBypassSuite measured in this guest; "+
			"review the change, then rewrite it with `go run ./test/kernels -kernels "+coverageTarget+" -readme` (as root):\n"+
			lineDiff(readme, r.coverage))
	}
}

// writeCoverage rewrites README.md's lsm coverage block with what the
// coverage target measured, if it measured a table, and says what it did.
func writeCoverage(path string, results []*result) (string, error) {
	i := slices.IndexFunc(results, func(r *result) bool { return r.target.id == coverageTarget })
	if i < 0 || len(results[i].coverage) == 0 {
		return "left as it was: the " + coverageTarget + " guest measured none", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	text, err := spliceCoverage(string(b), results[i].coverage)
	switch {
	case err != nil:
		return "", err
	case text == string(b):
		return "as measured, unchanged", nil
	}
	return "rewritten with what the " + coverageTarget + " guest measured: review the change (git diff README.md)",
		os.WriteFile(path, []byte(text), 0o644)
}

// lineDiff shows how got differs from want, line by line: "-" only in
// want, "+" only in got, in order (a longest common subsequence).
func lineDiff(want, got []string) string {
	// lcs[i][j]: the longest common subsequence of want[i:] and got[j:].
	lcs := make([][]int, len(want)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(got)+1)
	}
	for i := len(want) - 1; i >= 0; i-- {
		for j := len(got) - 1; j >= 0; j-- {
			if want[i] == got[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case i < len(want) && j < len(got) && want[i] == got[j]:
			i, j = i+1, j+1
		case i < len(want) && (j == len(got) || lcs[i+1][j] >= lcs[i][j+1]):
			fmt.Fprintf(&b, "    - %s\n", want[i])
			i++
		default:
			fmt.Fprintf(&b, "    + %s\n", got[j])
			j++
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}
