package guard

import "testing"

// CheckPolicyDocBlock lets tests of package guard_test keep a generated
// block of docs/policy.md, under the same -update flag.
func CheckPolicyDocBlock(t *testing.T, what, begin, end, want string) {
	t.Helper()
	checkDocBlock(t, what, begin, end, want)
}
