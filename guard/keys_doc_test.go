package guard

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite what the docs say of generated things (the Keys and Syscalls tables)")

const (
	policyDoc = "../docs/policy.md"
	// The lines between these two are made from matchKeys.
	keysBegin = "<!-- made from the rows of guard/keys.go; go test ./guard -run TestKeysTableInDocs -update rewrites it -->\n"
	keysEnd   = "<!-- end of the keys -->\n"
)

// docs/policy.md's Keys table, and what loading checks of each key, are
// the rows of matchKeys.
func TestKeysTableInDocs(t *testing.T) {
	checkDocBlock(t, "Keys table", keysBegin, keysEnd, keysDoc(t))
}

// checkDocBlock checks that docs/policy.md holds want between begin and
// end; with -update it writes it there.
func checkDocBlock(t *testing.T, what, begin, end, want string) {
	t.Helper()
	data, err := os.ReadFile(policyDoc)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := strings.Cut(string(data), begin)
	old, after, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		t.Fatalf("%s has no %q and %q around its %s", policyDoc, begin, end, what)
	}
	if want == old {
		return
	}
	if *update {
		if err := os.WriteFile(policyDoc, []byte(before+begin+want+end+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, lines := strings.Split(old, "\n"), strings.Split(want, "\n")
	line := 0
	for line < min(len(have), len(lines))-1 && have[line] == lines[line] {
		line++
	}
	t.Errorf("docs/policy.md's %s is not what its rows make (go test ./guard -run %s -update rewrites it); "+
		"its line %d:\n\thas  %q\n\twant %q", what, t.Name(), line+1, have[line], lines[line])
}

// keysDoc is the table of the keys, and a paragraph on what loading a
// policy checks of their values.
func keysDoc(t *testing.T) string {
	var b strings.Builder
	b.WriteString("| key | holds when | notes |\n|---|---|---|\n")
	byKind := map[string][]string{}
	for _, k := range matchKeys {
		b.WriteString("| `" + k.name + "` | " + k.holds + " | " + k.notes + " |\n")
		kind := k.values.kindName()
		byKind[kind] = append(byKind[kind], "`"+k.name+"`")
	}
	for kind := range byKind {
		switch kind {
		case "uid", "name", "request", "process", "path", "cgroup", "pid":
		default:
			t.Fatalf("keysDoc does not know what loading checks of values of kind %q (say it there)", kind)
		}
	}
	var checks []string
	if keys := byKind["process"]; len(keys) > 0 {
		checks = append(checks, and(keys)+" must name running processes")
	}
	if keys := byKind["path"]; len(keys) > 0 {
		checks = append(checks, "the files named by "+and(keys)+" must exist")
	}
	text := "When the policy loads, " + strings.Join(checks, ", and ") + "."
	if keys := byKind["cgroup"]; len(keys) > 0 {
		text += " " + and(keys) + " may name a cgroup that does not exist (yet): that is a warning, " +
			"and the path is matched once it does (see [Cgroups that come and go](#cgroups-that-come-and-go)); " +
			"a path that can never be a cgroup (outside the cgroup v2 mount, below a file, too deep) is an error."
	}
	if keys := byKind["pid"]; len(keys) > 0 {
		text += " " + and(keys) + " may name a pid no process has yet."
	}
	b.WriteString("\n" + wrap(text, 98))
	return b.String()
}

// and joins words as a list in prose: "a, b and c".
func and(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// wrap breaks text into lines of at most width bytes, where it can.
func wrap(text string, width int) string {
	var b strings.Builder
	line := 0
	for i, word := range strings.Fields(text) {
		switch {
		case i == 0:
		case line+1+len(word) > width:
			b.WriteString("\n")
			line = 0
		default:
			b.WriteString(" ")
			line++
		}
		b.WriteString(word)
		line += len(word)
	}
	return b.String() + "\n"
}
