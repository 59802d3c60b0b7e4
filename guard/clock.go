package guard

import (
	"time"

	"golang.org/x/sys/unix"
)

// bootClock turns the kernel's CLOCK_BOOTTIME stamps (bpf_ktime_get_boot_ns,
// which keeps counting through suspend) into wall-clock time.
type bootClock struct {
	offset int64 // wall ns minus boot ns
}

// sync re-reads the offset; called on every idle tick so that a wall-clock
// step (NTP, settimeofday) shows up within one tick.
func (c *bootClock) sync() {
	var before, after unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &before)
	wall := time.Now().UnixNano()
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &after)
	boot := (before.Nano() + after.Nano()) / 2
	c.offset = wall - boot
}

func (c *bootClock) wall(bootNs uint64) time.Time {
	return time.Unix(0, int64(bootNs)+c.offset)
}

// bootNs reads CLOCK_BOOTTIME, the clock of the kernel's stamps.
func bootNs() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return uint64(ts.Nano())
}
