// Command sigguard kills, from inside the kernel, processes that call
// ptrace(2), and reports every intervention. See internal/cli for the
// command line and package guard for the library behind it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sigguard/sigguard/internal/cli"
)

func main() {
	// Output to a closed pipe (sigguard | head) then fails the write, and
	// sigguard stops cleanly, instead of dying of SIGPIPE mid-line.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
