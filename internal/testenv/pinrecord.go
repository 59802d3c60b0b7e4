package testenv

import (
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"

	"github.com/sigguard/sigguard/internal/bpf"
)

// pinRecordPath is where a pin directory keeps its record.
func pinRecordPath(dir string) string { return filepath.Join(dir, "maps", "pin_meta") }

// EditPinRecord rewrites the pin record of the guard pinned at dir in
// place, as another sigguard (or a crash halfway) would have left it.
func EditPinRecord(dir string, edit func(*bpf.GuardPinRecord)) error {
	m, err := ebpf.LoadPinnedMap(pinRecordPath(dir), nil)
	if err != nil {
		return err
	}
	defer m.Close()
	var r bpf.GuardPinRecord
	if err := m.Lookup(uint32(0), &r); err != nil {
		return err
	}
	edit(&r)
	return m.Update(uint32(0), &r, ebpf.UpdateExist)
}

// PinRecordOfAnotherLayout pins, in place of the record, a map whose
// value is 8 bytes longer and names no known object: what a build with
// another record layout leaves.
func PinRecordOfAnotherLayout(dir string) error {
	path := pinRecordPath(dir)
	old, err := ebpf.LoadPinnedMap(path, nil)
	if err != nil {
		return err
	}
	size := old.ValueSize() + 8
	old.Close()
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: size, MaxEntries: 1})
	if err != nil {
		return err
	}
	defer m.Close()
	if err := os.Remove(path); err != nil {
		return err
	}
	record := make([]byte, size)
	record[0] = 0xa5
	if err := m.Update(uint32(0), record, ebpf.UpdateAny); err != nil {
		return err
	}
	return m.Pin(path)
}
