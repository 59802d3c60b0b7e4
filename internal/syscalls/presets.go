package syscalls

// Preset is a named set of syscalls a policy can guard together.
type Preset struct {
	Name     string
	Syscalls []string // syscall_64.tbl names
	Doc      string   // one sentence: what the set guards
}

// Presets are the built-in sets. Their names never equal a syscall name, so
// a name in a policy means one or the other. Whether each syscall exists
// is up to the running kernel: a kernel without CONFIG_MODULES has no
// init_module tracepoint, so Table.Lookup will not find it.
var Presets = []Preset{
	{
		Name:     "kernel-modules",
		Syscalls: []string{"init_module", "finit_module", "delete_module"},
		Doc:      "Loading and unloading kernel modules, which run code with full kernel privilege.",
	},
	{
		Name:     "namespaces",
		Syscalls: []string{"unshare", "setns"},
		Doc:      "Entering or creating namespaces other than the ones the process started in.",
	},
	{
		Name:     "keyring",
		Syscalls: []string{"add_key", "request_key", "keyctl"},
		Doc:      "Reading and changing the kernel keyrings that hold credentials and encryption keys.",
	},
	{
		Name:     "bpf-programs",
		Syscalls: []string{"bpf"},
		Doc:      "Loading BPF programs and reading or writing BPF maps, including those of security tools.",
	},
	{
		Name: "mounts",
		Syscalls: []string{"mount", "umount2", "fsopen", "fsconfig", "fsmount", "fspick",
			"move_mount", "open_tree", "open_tree_attr", "pivot_root", "mount_setattr"},
		Doc: "Changing the mount table, which can hide, replace or expose files.",
	},
	{
		Name:     "clock-changes",
		Syscalls: []string{"settimeofday", "clock_settime", "adjtimex", "clock_adjtime"},
		Doc:      "Setting or steering the system clock, which timestamps, certificates and logs rely on.",
	},
	{
		Name:     "kexec",
		Syscalls: []string{"kexec_load", "kexec_file_load"},
		Doc:      "Loading a new kernel to boot into, which replaces the running one and everything guarding it.",
	},
	{
		Name:     "reboot-and-swap",
		Syscalls: []string{"reboot", "swapon", "swapoff"},
		Doc:      "Rebooting or halting the machine and adding or removing swap areas.",
	},
}

// PresetNamed finds a preset by name.
func PresetNamed(name string) (Preset, bool) {
	for _, p := range Presets {
		if p.Name == name {
			return p, true
		}
	}
	return Preset{}, false
}
