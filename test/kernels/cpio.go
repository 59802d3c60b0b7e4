package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// cpioWriter writes an uncompressed initramfs in the kernel's "newc"
// format: every kernel unpacks it, with no decompressor to configure.
type cpioWriter struct {
	w    *bufio.Writer
	ino  int
	off  int64
	dirs map[string]bool
}

func newCPIO(w io.Writer) *cpioWriter {
	return &cpioWriter{w: bufio.NewWriter(w), dirs: map[string]bool{}}
}

// Dir adds a directory, once (its parents must have been added before it).
func (c *cpioWriter) Dir(name string) error {
	if c.dirs[name] {
		return nil
	}
	c.dirs[name] = true
	return c.entry(name, 0o040755, nil)
}

// Symlink adds a symbolic link to target.
func (c *cpioWriter) Symlink(name, target string) error {
	return c.entry(name, 0o120777, []byte(target))
}

// File adds a regular file with the given permission bits.
func (c *cpioWriter) File(name string, perm os.FileMode, data []byte) error {
	return c.entry(name, 0o100000|uint32(perm.Perm()), data)
}

// HostFile adds a copy of a file of this machine.
func (c *cpioWriter) HostFile(name, src string, perm os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return c.File(name, perm, data)
}

// Close writes the trailer and flushes.
func (c *cpioWriter) Close() error {
	if err := c.entry("TRAILER!!!", 0, nil); err != nil {
		return err
	}
	return c.w.Flush()
}

func (c *cpioWriter) entry(name string, mode uint32, data []byte) error {
	c.ino++
	// Relative names, as cpio(1) writes them; the kernel unpacks into /.
	name = strings.TrimPrefix(path.Clean(name), "/")
	nlink := 1
	if mode&0o170000 == 0o040000 {
		nlink = 2
	}
	// magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
	// devminor, rdevmajor, rdevminor, namesize (with its NUL), check.
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		c.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	if err := c.write([]byte(hdr + name + "\x00")); err != nil {
		return err
	}
	if err := c.write(data); err != nil {
		return err
	}
	return nil
}

// write writes b and pads to the 4-byte alignment newc wants after the
// name and after the data.
func (c *cpioWriter) write(b []byte) error {
	n, err := c.w.Write(b)
	c.off += int64(n)
	if err != nil {
		return err
	}
	if pad := (4 - c.off%4) % 4; pad > 0 {
		n, err := c.w.Write(make([]byte, pad))
		c.off += int64(n)
		return err
	}
	return nil
}
