package syscalls

import (
	"reflect"
	"testing"
)

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"unshare", "unshar", 1},
		{"ptrace", "ptarce", 2}, {"openat", "openat2", 1},
	} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d; want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestCommonWordPrefix(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"PTRACE_ATACH", "PTRACE_CONT", 7}, {"CLONE_NEWUSR", "CLONE_NEWIPC", 6}, {"umount", "umount2", 0}, {"a_b", "a_b", 2},
	} {
		if got := commonWordPrefix(c.a, c.b); got != c.want {
			t.Errorf("commonWordPrefix(%q, %q) = %d; want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestLongestCommonSubstring(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "abc", 0}, {"newstat", "stat", 4}, {"clone_newuser", "CLONE_NEWUSER", 1}, {"abcxyz", "xyzabc", 3},
	} {
		if got := longestCommonSubstring(c.a, c.b); got != c.want {
			t.Errorf("longestCommonSubstring(%q, %q) = %d; want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	// A shared leading word ("PTRACE_") is not a shared run.
	if got := suggest("PTRACE_ATACH", []string{"PTRACE_CONT", "PTRACE_SEIZE", "PTRACE_ATTACH", "PTRACE_GETREGSET"}); !reflect.DeepEqual(got, []string{"PTRACE_ATTACH"}) {
		t.Errorf("suggest(PTRACE_ATACH) = %v; want [PTRACE_ATTACH]", got)
	}
	names := allNames()
	for _, c := range []struct {
		name string
		want []string
	}{
		{"unshar", []string{"unshare"}},
		{"umount", []string{"umount2", "mount", "fsmount", "listmount", "statmount"}},
		{"open", []string{"fsopen", "openat", "mq_open", "openat2", "open_tree"}},
		{"clock_settimes", []string{"clock_settime", "clock_gettime", "timer_settime", "timerfd_settime", "settimeofday"}},
		{"ptrac", []string{"ptrace"}},
		{"zzzzzz", nil},
		{"unshare", nil},
	} {
		got := suggest(c.name, names)
		if len(got) == 0 && len(c.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("suggest(%q) = %v; want %v", c.name, got, c.want)
		}
	}
}
