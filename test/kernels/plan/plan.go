// Package plan is what the kernel matrix's host runner tells the guest's
// /init to do, and the marker lines /init and the tests answer with on the
// console.
// Both sides import it; it must stay free of cilium/ebpf (see guestinit).
package plan

// Path is where the plan sits in the guest's initramfs.
const Path = "/sigguard/plan.json"

// MarkerPrefix starts every line /init prints for the host, so they stand
// out from test output and kernel messages on the same console.
const MarkerPrefix = "sigguard-guest: "

// CoveragePrefix starts, after the test's file and line, each line of the
// coverage table TestBypassSuite logs (go test -v), then a space and the
// table's line: the host reads the table off the console.
const CoveragePrefix = "coverage-table:"

// Plan lists the test binaries to run, in order, with one environment.
type Plan struct {
	Env  []string `json:"env"`
	Runs []Run    `json:"runs"`
}

// Run is one test binary and its arguments.
type Run struct {
	Name string   `json:"name"`
	Path string   `json:"path"`
	Dir  string   `json:"dir"`
	Args []string `json:"args"`
}
