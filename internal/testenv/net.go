package testenv

import (
	"net"
	"testing"
)

// FreeLoopbackAddr is an address on 127.0.0.1 no one listens on now, for
// a sigguard under test to serve its endpoints on.
func FreeLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
