package bpf

// GuardObject is the compiled BPF object embedded in this binary, e.g. to
// tell whether pinned maps were made by this very build.
func GuardObject() []byte { return _GuardBytes }
