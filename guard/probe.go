package guard

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
)

// requirement is one kernel feature the guard cannot run without.
type requirement struct {
	what  string
	since string // the first Linux release that has it
	probe func() error
}

var requirements = []requirement{
	{"BTF type information (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF)", "5.4", func() error {
		_, err := btf.LoadKernelSpec()
		return err
	}},
	{"tracepoint programs", "4.7", func() error { return features.HaveProgramType(ebpf.TracePoint) }},
	{"BPF ring buffer", "5.8", func() error { return features.HaveMapType(ebpf.RingBuf) }},
	{"the bpf_send_signal helper", "5.3", func() error {
		return features.HaveProgramHelper(ebpf.TracePoint, asm.FnSendSignal)
	}},
	{"the bpf_send_signal_thread helper", "5.5", func() error {
		return features.HaveProgramHelper(ebpf.TracePoint, asm.FnSendSignalThread)
	}},
	{"the bpf_ktime_get_boot_ns helper", "5.8", func() error {
		return features.HaveProgramHelper(ebpf.TracePoint, asm.FnKtimeGetBootNs)
	}},
}

// ErrKernelUnsupported wraps every "this kernel lacks X" error.
var ErrKernelUnsupported = errors.New("kernel unsupported")

// CheckKernel probes every feature the guard needs. A feature is missing
// only when the probe says so (ErrNotSupported); any other probe error,
// typically EPERM, is returned as it is rather than read as "missing".
func CheckKernel() error {
	for _, r := range requirements {
		err := r.probe()
		switch {
		case err == nil:
		case errors.Is(err, ebpf.ErrNotSupported):
			return fmt.Errorf("%w: this kernel lacks %s (needs Linux %s or newer): %v",
				ErrKernelUnsupported, r.what, r.since, err)
		default:
			return fmt.Errorf("probe %s: %w%s", r.what, err, hintFor(err))
		}
	}
	return nil
}
