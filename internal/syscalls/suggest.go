package syscalls

import "sort"

// maxSuggestions is how many near matches an error offers.
const maxSuggestions = 5

// suggest picks up to five candidates near name: within edit distance 2,
// or sharing a run of at least 4 characters (a common prefix or
// substring). Closer edits come first, then longer shared runs, then
// alphabetical order. Whole words both names start with do not count
// towards the shared run: every PTRACE_ request shares "PTRACE_" with a
// misspelt PTRACE_ATACH, and offering all of them would bury the fix.
// name itself is never suggested.
func suggest(name string, candidates []string) []string {
	type match struct {
		s      string
		dist   int
		common int
	}
	var ms []match
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := editDistance(name, c)
		p := commonWordPrefix(name, c)
		common := longestCommonSubstring(name[p:], c[p:])
		if d <= 2 || common >= 4 {
			ms = append(ms, match{c, d, common})
		}
	}
	sort.Slice(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if (a.dist <= 2) != (b.dist <= 2) {
			return a.dist <= 2
		}
		if a.dist <= 2 && a.dist != b.dist {
			return a.dist < b.dist
		}
		if a.common != b.common {
			return a.common > b.common
		}
		if a.dist != b.dist {
			return a.dist < b.dist
		}
		return a.s < b.s
	})
	if len(ms) > maxSuggestions {
		ms = ms[:maxSuggestions]
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.s
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// commonWordPrefix is the length of the longest common prefix of a and b
// that ends in '_': the whole words they both start with.
func commonWordPrefix(a, b string) int {
	n := 0
	for i := 0; i < len(a) && i < len(b) && a[i] == b[i]; i++ {
		if a[i] == '_' {
			n = i + 1
		}
	}
	return n
}

// longestCommonSubstring is the length of the longest run of bytes that
// a and b share.
func longestCommonSubstring(a, b string) int {
	best := 0
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
				best = max(best, cur[j])
			} else {
				cur[j] = 0
			}
		}
		prev, cur = cur, prev
	}
	return best
}

// didYouMean formats suggestions for an error message: "" when there are
// none.
func didYouMean(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return "; did you mean " + s[0] + "?"
	}
	out := "; did you mean one of "
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out + "?"
}

// Near lists up to 5 of candidates near name, best first, for an error
// message about an unknown name.
func Near(name string, candidates []string) []string { return suggest(name, candidates) }

// AllNames lists every x86-64 syscall name this package knows a number of.
func AllNames() []string { return allNames() }
