package guard

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/kernfs"
)

// Tier names how the guard enforces.
type Tier string

const (
	// TierLSM refuses the access with EPERM in a BPF LSM program on the
	// kernel's ptrace access check, before the call takes effect (needs
	// BPF LSM active: bpf in lsm=).
	TierLSM Tier = "lsm"
	// TierFmodRet refuses the same way from fmod_ret on
	// security_ptrace_access_check, where BPF LSM is not active.
	TierFmodRet Tier = "fmod_ret"
	// TierSignal signals the caller from syscall tracepoints. It cannot
	// veto the call: the syscall body still runs before the signal lands.
	TierSignal Tier = "signal"
	// TierAuto, the zero value, picks the first tier the kernel offers.
	TierAuto Tier = ""
)

// ParseTier reads a tier name ("auto" or "" for TierAuto).
func ParseTier(s string) (Tier, error) {
	switch t := Tier(s); t {
	case TierLSM, TierFmodRet, TierSignal:
		return t, nil
	case "auto", TierAuto:
		return TierAuto, nil
	}
	return "", fmt.Errorf("unknown tier %q (use auto, lsm, fmod_ret or signal)", s)
}

// Limits says in a few words what the tier does and cannot prevent.
func (t Tier) Limits() string {
	switch t {
	case TierLSM, TierFmodRet:
		return "refuses with EPERM before the call takes effect: ptrace attach and seize, process_vm_readv/writev, " +
			"/proc/<pid>/mem, pidfd_getfd, io_uring; ptrace's other requests and perf_event_open get the signal at syscall entry"
	case TierSignal:
		return "signal at syscall entry; the call itself still runs, so ATTACH, SEIZE and TRACEME take effect"
	}
	return string(t)
}

// veto is a deny tier's hook.
type veto struct {
	tier    Tier
	program string
}

// vetoes are the deny tiers, best first.
var vetoes = []veto{
	{TierLSM, bpf.GuardProgSgVetoLsm},
	{TierFmodRet, bpf.GuardProgSgVetoFmodRet},
}

// chooseTier attaches the best deny-tier hook the kernel takes (or the
// one asked for) and returns its tier, or TierSignal when none loads. It
// runs before any rule is in force. Why each tier was passed over is kept
// for the start-up line.
func (g *Guard) chooseTier(want Tier) error {
	if want == TierSignal {
		g.tier = TierSignal
		return nil
	}
	for _, v := range vetoes {
		if want != TierAuto && want != v.tier {
			continue
		}
		err := g.tryVeto(v)
		if err == nil {
			g.tier = v.tier
			return nil
		}
		g.passedOver = append(g.passedOver, fmt.Sprintf("%s: %v", v.tier, err))
		if want == v.tier {
			return &ConfigError{Setting: SettingTier, Err: fmt.Errorf("this kernel cannot enforce the %s tier: %w", v.tier, err)}
		}
	}
	g.tier = TierSignal
	return nil
}

// tryVeto loads and attaches a deny-tier hook, then tells the tracepoint
// programs to leave the calls it judges to it.
func (g *Guard) tryVeto(v veto) error {
	if v.tier == TierLSM {
		active, err := bpfLSMActive()
		if err != nil {
			return err
		}
		if !active {
			// The program would attach and never run (seen on 5.10).
			return errors.New("BPF LSM is not active (boot with bpf in lsm=, e.g. lsm=...,bpf)")
		}
	}
	if _, err := g.program(v.program); err != nil {
		return fmt.Errorf("load: %s", whyNot(err))
	}
	if err := g.attachOnce(v.program); err != nil {
		return fmt.Errorf("attach: %s", whyNot(err))
	}
	if err := g.coll.Variables[bpf.GuardVarVetoHooked].Set(uint32(1)); err != nil {
		return fmt.Errorf("hand the vetoed calls over: %w", err)
	}
	return nil
}

// bpfLSMActive reads the active LSMs from securityfs.
func bpfLSMActive() (bool, error) {
	if err := kernfs.EnsureSecurityfs(); err != nil {
		return false, err
	}
	b, err := os.ReadFile(kernfs.SecurityfsPath + "/lsm")
	if err != nil {
		return false, fmt.Errorf("read the active LSMs: %w", err)
	}
	for _, name := range strings.Split(strings.TrimSpace(string(b)), ",") {
		if name == "bpf" {
			return true, nil
		}
	}
	return false, nil
}

// whyNot words a deny-tier hook's failure for the start-up line. As root,
// EPERM here is the kernel's refusal (lockdown, or no BPF trampolines),
// not a missing privilege: the signal tier loaded with the same rights.
func whyNot(err error) string {
	switch {
	case errors.Is(err, unix.EPERM):
		return "the kernel refuses such programs (EPERM: kernel lockdown, or no BPF trampoline support)"
	case errors.Is(err, ebpf.ErrNotSupported):
		return "not supported by this kernel"
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// Tier says how this guard enforces.
func (g *Guard) Tier() Tier { return g.tier }

// TierPassedOver says why better tiers than the one in force were not
// taken, one entry per tier tried ("lsm: BPF LSM is not active ...").
func (g *Guard) TierPassedOver() []string { return g.passedOver }

// adoptTier takes the tier of a pinned guard, which its veto hook tells.
// A tier asked for by name must be that one: switching tiers under a
// running guard is not done. The flag that hands calls to the veto is set
// from the hook actually found, so a pin that lost its veto hook goes back
// to judging every call at the tracepoints rather than none.
func (g *Guard) adoptTier(want Tier) error {
	g.tier = g.adoptedTier()
	if want != TierAuto && want != g.tier {
		return &ConfigError{Setting: SettingTier, Err: fmt.Errorf(
			"the guard pinned at %s enforces in the %s tier, not %s (sigguard unpin --pin-dir %s, then start again to change tiers)",
			g.pin.dir, g.tier, want, g.pin.dir)}
	}
	hooked := uint32(0)
	if g.tier != TierSignal {
		hooked = 1
	}
	if err := g.coll.Variables[bpf.GuardVarVetoHooked].Set(hooked); err != nil {
		return fmt.Errorf("hand the vetoed calls over: %w (sigguard unpin --pin-dir %s removes the pin)", err, g.pin.dir)
	}
	return nil
}

// adoptedTier is the tier of a pinned guard, told by its veto hook.
func (g *Guard) adoptedTier() Tier {
	for _, v := range vetoes {
		if g.hooks.find(v.program) != nil {
			return v.tier
		}
	}
	return TierSignal
}

// tierOf turns the kernel's enum tier into a Tier.
func tierOf(t uint8) Tier {
	switch bpf.GuardTier(t) {
	case bpf.GuardTierSG_TIER_LSM:
		return TierLSM
	case bpf.GuardTierSG_TIER_FMOD_RET:
		return TierFmodRet
	}
	return TierSignal
}

// kernelTier is the enum tier a Tier is in the kernel.
func (t Tier) kernelTier() uint32 {
	switch t {
	case TierLSM:
		return uint32(bpf.GuardTierSG_TIER_LSM)
	case TierFmodRet:
		return uint32(bpf.GuardTierSG_TIER_FMOD_RET)
	}
	return uint32(bpf.GuardTierSG_TIER_SIGNAL)
}
