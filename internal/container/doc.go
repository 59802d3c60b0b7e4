package container

import "strings"

// LayoutsMarkdown is the table of the layouts Parse knows, one row each,
// for docs/containers.md.
func LayoutsMarkdown() string {
	var b strings.Builder
	b.WriteString("| names | runtime | driver | cgroup path | notes |\n|---|---|---|---|---|\n")
	for _, l := range layouts {
		what := "container"
		runtime := "`" + l.runtime + "`"
		if l.kind == podRow {
			what, runtime = "pod", ""
		}
		b.WriteString("| " + what + " | " + runtime + " | " + l.driver + " | `" + l.example + "` | " + l.note + " |\n")
	}
	return b.String()
}
