package kernfs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// hostMountinfo is the mount table of the host's init, the mount namespace
// that outlives every container. It is readable without ptrace rights
// over pid 1, unlike /proc/1/root and /proc/1/ns.
const hostMountinfo = "/proc/1/mountinfo"

// ErrBPFFSNotHost means pins in a directory would vanish with this
// process's mount namespace.
var ErrBPFFSNotHost = errors.New("the bpf filesystem there is mounted only in this container")

// CheckBPFFSOutlivesUs refuses a pin directory whose bpf filesystem is not
// mounted in the host's mount namespace. Every `mount -t bpf` makes a new
// file system, and its pins live only while it is mounted somewhere: one
// mounted inside a container (by the container, or by sigguard itself)
// goes, with everything pinned in it, when the container's mount namespace
// does. The host's, bind-mounted into the container, has the same device
// as the host's mount. Pid 1 must be the host's init: call this in the host
// pid namespace. When the host's mount table cannot be read, it cannot
// tell and lets dir pass.
func CheckBPFFSOutlivesUs(dir string) error {
	dev, err := deviceOf(dir)
	if err != nil {
		return err
	}
	f, err := os.Open(hostMountinfo)
	if err != nil {
		return nil
	}
	defer f.Close()
	found, err := hasBPFMount(f, dev)
	if err != nil || found {
		return err
	}
	return fmt.Errorf("%w: pins in %s would vanish with this container, and with them enforcement, while sigguard would "+
		"report it still enforcing; pin on the host's bpf filesystem (docker run -v /sys/fs/bpf:/sys/fs/bpf; Kubernetes: a hostPath "+
		"volume of /sys/fs/bpf mounted at /sys/fs/bpf with mountPropagation: HostToContainer; on the host, mount it once: "+
		"mount -t bpf bpf /sys/fs/bpf)", ErrBPFFSNotHost, dir)
}

// deviceOf is the device of the file system dir, or the nearest existing
// directory above it, is on, as mountinfo writes it ("0:45").
func deviceOf(dir string) (string, error) {
	for {
		var st unix.Stat_t
		err := unix.Stat(dir, &st)
		if err == nil {
			return fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)), nil
		}
		if !errors.Is(err, unix.ENOENT) {
			return "", fmt.Errorf("stat %s: %w", dir, err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("stat %s: %w", dir, err)
		}
		dir = parent
	}
}

// hasBPFMount says whether a mount table holds a bpf file system of
// device dev.
func hasBPFMount(r io.Reader, dev string) (bool, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		// "40 23 0:45 / /sys/fs/bpf rw,relatime shared:18 - bpf bpf rw,mode=700"
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, fsFields := strings.Fields(pre), strings.Fields(post)
		if ok && len(fields) >= 3 && len(fsFields) >= 1 && fsFields[0] == "bpf" && fields[2] == dev {
			return true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("read the host's mount table: %w", err)
	}
	return false, nil
}
