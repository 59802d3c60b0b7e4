package syscalls

import (
	"reflect"
	"strings"
	"testing"
)

func TestPresets(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Presets {
		if seen[p.Name] {
			t.Errorf("preset %s defined twice", p.Name)
		}
		seen[p.Name] = true
		if _, ok := Number(p.Name); ok {
			t.Errorf("preset %s has the name of a syscall", p.Name)
		}
		if p.Name == "proc-mem" || p.Name == "memory-access" {
			t.Errorf("preset %s belongs to the guard", p.Name)
		}
		if len(p.Syscalls) == 0 {
			t.Errorf("preset %s is empty", p.Name)
		}
		for _, s := range p.Syscalls {
			if _, ok := Number(s); !ok {
				t.Errorf("preset %s: %s is not an x86-64 syscall", p.Name, s)
			}
		}
		if p.Doc == "" || !strings.HasSuffix(p.Doc, ".") || strings.Count(p.Doc, ". ") > 0 {
			t.Errorf("preset %s: Doc %q is not one sentence", p.Name, p.Doc)
		}
	}
	for name, want := range map[string][]string{
		"kernel-modules": {"init_module", "finit_module", "delete_module"},
		"namespaces":     {"unshare", "setns"},
		"keyring":        {"add_key", "request_key", "keyctl"},
		"bpf-programs":   {"bpf"},
		"kexec":          {"kexec_load", "kexec_file_load"},
	} {
		p, ok := PresetNamed(name)
		if !ok || !reflect.DeepEqual(p.Syscalls, want) {
			t.Errorf("PresetNamed(%q) = %v, %v; want %v", name, p.Syscalls, ok, want)
		}
	}
	if _, ok := PresetNamed("bpf"); ok {
		t.Error("PresetNamed(bpf) found a preset")
	}
}
