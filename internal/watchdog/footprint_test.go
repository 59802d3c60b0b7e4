package watchdog

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// Dropping the mappings of the executable lowers what the process holds
// resident, and the process goes on running the code it unmapped.
func TestUnmapUnwrittenImageLowersResidentFilePages(t *testing.T) {
	before := rssFileKB(t)
	unmapUnwrittenImage()
	after := rssFileKB(t)
	if after >= before {
		t.Fatalf("RssFile %d kB before, %d kB after: nothing was unmapped", before, after)
	}
	// Code and read-only data come back from the file when touched.
	if n, err := strconv.Atoi("42"); err != nil || n != 42 || !strings.HasPrefix("watchdog", "watch") {
		t.Fatal("the process no longer runs right after unmapping")
	}
	t.Logf("RssFile %d kB before, %d kB after", before, after)
}

func rssFileKB(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	v := statusField(b, "RssFile:")
	kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(string(v), "kB")))
	if err != nil {
		t.Fatalf("RssFile: %q", v)
	}
	return kb
}

func TestMappingRange(t *testing.T) {
	for line, want := range map[string][2]uintptr{
		"00400000-009ef000 r-xp 00000000 fe:00 9996446 /usr/bin/sigguard": {0x400000, 0x9ef000},
		"7f80-7f90 rw-p 00000000 00:00 0":                                 {0x7f80, 0x7f90},
		"Rss:                 4924 kB":                                    {},
		"Anonymous:               0 kB":                                   {},
		"VmFlags: rd ex mr mw me sd":                                      {},
	} {
		fields := fieldsOf(line)
		start, end, ok := mappingRange(fields)
		if ok != (want != [2]uintptr{}) || start != want[0] || end != want[1] {
			t.Errorf("%q: %#x-%#x %v, want %#x-%#x", line, start, end, ok, want[0], want[1])
		}
	}
}

func fieldsOf(s string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(s) {
		out = append(out, []byte(f))
	}
	return out
}
