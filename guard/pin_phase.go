package guard

// pinPhase is where a pinned guard stands with its pin directory. It
// starts as what claimPinDir found there and moves on as Start goes:
//
//	pinCreating  -> pinCreated   (nothing there: a new pin)
//	pinCreating  -> pinForeign   (an incomplete pin: left alone, Start fails)
//	pinAdopting  -> pinAdopted   (a complete pin of this build: taken over)
//	pinAdopting  -> pinUpgrading -> pinUpgraded (another build's pin: set aside, replaced)
type pinPhase uint8

const (
	// pinCreating: nothing was pinned there; this guard's pin is not
	// complete yet.
	pinCreating pinPhase = iota
	// pinAdopting: a complete pin was there; this guard is taking it over.
	pinAdopting
	// pinUpgrading: another build's pin waits, still enforcing, in old-*
	// until this guard's own is complete.
	pinUpgrading
	// pinForeign: an incomplete pin, left by a sigguard that failed while
	// pinning: never removed here.
	pinForeign
	// pinCreated, pinAdopted and pinUpgraded: the pin is this guard's,
	// complete, or adopted to the end.
	pinCreated
	pinAdopted
	pinUpgraded
)

var pinPhaseNames = [...]string{
	pinCreating: "creating", pinAdopting: "adopting", pinUpgrading: "upgrading", pinForeign: "foreign",
	pinCreated: "created", pinAdopted: "adopted", pinUpgraded: "upgraded",
}

func (ph pinPhase) String() string { return enumName(ph, pinPhaseNames[:], "pin-phase") }

// owned says whether the pin is this guard's: complete, or adopted to the
// end. Its record then names this guard as the reader.
func (ph pinPhase) owned() bool {
	return ph == pinCreated || ph == pinAdopted || ph == pinUpgraded
}

// recording says whether the pin record in the kernel is complete, so that
// changes to it are written at once: a pin being adopted, or one owned.
// A pin being made gets its record when pinMaps completes it.
func (ph pinPhase) recording() bool { return ph == pinAdopting || ph.owned() }

// madeHere says whether the pins in links/ and maps/ are this guard's
// own, for abandonPin to remove when Start fails.
func (ph pinPhase) madeHere() bool {
	return ph == pinCreating || ph == pinCreated || ph == pinUpgrading || ph == pinUpgraded
}

// setAside says whether another build's pin waits in old-*.
func (ph pinPhase) setAside() bool { return ph == pinUpgrading || ph == pinUpgraded }

// completed is the phase once pinMaps has made this guard's pin complete.
func (ph pinPhase) completed() pinPhase {
	switch ph {
	case pinCreating:
		return pinCreated
	case pinUpgrading:
		return pinUpgraded
	}
	return ph
}
