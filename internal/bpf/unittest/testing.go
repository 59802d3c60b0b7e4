package unittest

import (
	"testing"

	"github.com/sigguard/sigguard/internal/testenv"
)

// LoadForTest loads the test object for a privileged test (skipping it
// without root, outside CI) and unloads it when the test ends, checking
// that none of its programs stays loaded.
func LoadForTest(t testing.TB) *Object {
	t.Helper()
	testenv.RequireRoot(t)
	o, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	ids, err := o.ProgramIDs()
	if err != nil {
		o.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		o.Close()
		testenv.AssertUnloaded(t, ids)
	})
	return o
}
