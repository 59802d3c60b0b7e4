package guard

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
)

func TestCheckKernelNamesWhatIsMissing(t *testing.T) {
	saved := requirements
	defer func() { requirements = saved }()

	requirements = []requirement{{"the frobnicate helper", "9.9", func() error {
		return fmt.Errorf("probe: %w", ebpf.ErrNotSupported)
	}}}
	err := CheckKernel()
	if !errors.Is(err, ErrKernelUnsupported) || !strings.Contains(err.Error(), "this kernel lacks the frobnicate helper (needs Linux 9.9 or newer)") {
		t.Errorf("missing feature: %v", err)
	}

	// Any other probe failure is not "missing": it is reported as it is.
	requirements = []requirement{{"the frobnicate helper", "9.9", func() error { return syscall.EPERM }}}
	err = CheckKernel()
	if errors.Is(err, ErrKernelUnsupported) || !strings.Contains(err.Error(), "CAP_BPF") {
		t.Errorf("EPERM during a probe: %v, want the error with a privilege hint", err)
	}
}
