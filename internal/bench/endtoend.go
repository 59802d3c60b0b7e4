package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// EndToEnd is one point of the end-to-end measurement: the sigguard
// binary in audit mode writing JSON lines into a pipe while offenders call
// flat out. Delivered counts the intervention lines read from the pipe,
// Lost what sigguard's own lost records reported, Matched what its exit
// summary says the kernel counted.
type EndToEnd struct {
	Processes  int        `json:"processes"`
	Seconds    float64    `json:"seconds"`
	Accounting Accounting `json:"accounting"`
	Exact      bool       `json:"exact"`
	Offered    float64    `json:"offered_per_second"`
	Lines      float64    `json:"lines_per_second"`
	// CPUPerLine is sigguard's own CPU time (user and system) per line
	// delivered, in µs.
	CPUPerLine float64 `json:"cpu_us_per_line"`
	// Share is the share of offered calls delivered as lines; ReaderShare
	// the share the library's reader alone delivered (no formatting, no
	// output) with as many offenders flat out, from the throughput sweep.
	Share       float64 `json:"delivered_share"`
	ReaderShare float64 `json:"reader_only_share"`
}

// endToEndCalls is what each offender calls, as at the sweep's flat-out points.
const endToEndCalls = 1_000_000

// endToEnd runs the sigguard binary with --output json into a pipe, once
// with one offender flat out and once with two.
func (b *bencher) endToEnd(ctx context.Context, r *Report) error {
	for procs := 1; procs <= 2; procs++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p, err := b.endToEndPoint(procs)
		if err != nil {
			return fmt.Errorf("%d offenders: %w", procs, err)
		}
		p.ReaderShare = r.readerShare(procs)
		r.EndToEnd = append(r.EndToEnd, p)
	}
	return nil
}

func (b *bencher) endToEndPoint(procs int) (EndToEnd, error) {
	lines, err := newLineCounter()
	if err != nil {
		return EndToEnd{}, err
	}
	defer lines.close()
	var stderr bytes.Buffer
	cmd, err := b.startBinary(lines.w, &stderr)
	lines.w.Close() // sigguard holds the writing end now
	if err != nil {
		return EndToEnd{}, err
	}
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	pid := cmd.Process.Pid
	cpuBefore, err := processCPUOf(pid)
	if err != nil {
		return EndToEnd{}, err
	}
	began := time.Now()
	if err := b.flood(procs, 0, endToEndCalls); err != nil {
		return EndToEnd{}, err
	}
	elapsed := time.Since(began)
	offered := uint64(procs * endToEndCalls)
	// Let sigguard catch up: each call is a line or in a lost record.
	for deadline := time.Now().Add(5 * time.Second); lines.interventions.Load()+lines.lost.Load() < offered && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	wall := time.Since(began)
	cpuAfter, err := processCPUOf(pid)
	if err != nil {
		return EndToEnd{}, err
	}
	cmd.Process.Signal(syscall.SIGTERM)
	stopped = true
	if err := cmd.Wait(); err != nil {
		return EndToEnd{}, fmt.Errorf("sigguard exited with %w: %s", err, lastLine(stderr.String()))
	}
	if err := lines.wait(); err != nil {
		return EndToEnd{}, err
	}
	matched, err := interventionsCounted(stderr.Bytes())
	if err != nil {
		return EndToEnd{}, err
	}
	a := Accounting{Offered: offered, Matched: matched, Delivered: lines.interventions.Load(), Lost: lines.lost.Load()}
	p := EndToEnd{Processes: procs, Seconds: elapsed.Seconds(), Accounting: a, Exact: a.Exact(),
		Offered: float64(offered) / elapsed.Seconds(), Lines: float64(a.Delivered) / wall.Seconds(), Share: float64(a.Delivered) / float64(offered)}
	if a.Delivered > 0 {
		p.CPUPerLine = float64((cpuAfter - cpuBefore).Microseconds()) / float64(a.Delivered)
	}
	return p, nil
}

// readerShare is the share the library's reader delivered with procs
// offenders flat out in the throughput sweep; 0 if it did not run.
func (r *Report) readerShare(procs int) float64 {
	for _, t := range r.Throughput {
		if t.Processes == procs && t.RatePerProc == 0 && t.Accounting.Offered > 0 {
			return float64(t.Accounting.Delivered) / float64(t.Accounting.Offered)
		}
	}
	return 0
}

// lineCounter reads sigguard's JSON lines from a pipe as they come,
// counting intervention lines and adding up what lost records say.
type lineCounter struct {
	r, w          *os.File
	interventions atomic.Uint64
	lost          atomic.Uint64
	done          chan error
}

// pipeSize lets sigguard write ahead of the counter: one 1 MiB pipe
// buffer instead of the default 64 KiB.
const pipeSize = 1 << 20

func newLineCounter() (*lineCounter, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, pipeSize)
	c := &lineCounter{r: r, w: w, done: make(chan error, 1)}
	go func() { c.done <- c.count() }()
	return c, nil
}

var (
	interventionLine = []byte(`{"type":"intervention",`)
	lostLine         = []byte(`{"type":"lost",`)
)

// count reads whole lines in large chunks: the counter must cost little
// next to what it measures. A record's type is its first field, and a
// string value cannot hold an unescaped quote, so a match is a line start.
func (c *lineCounter) count() error {
	buf := make([]byte, 4<<20)
	kept := 0 // bytes of a line not yet ended
	for {
		n, err := c.r.Read(buf[kept:])
		kept += n
		end := bytes.LastIndexByte(buf[:kept], '\n') + 1
		c.interventions.Add(uint64(bytes.Count(buf[:end], interventionLine)))
		for rest := buf[:end]; ; {
			i := bytes.Index(rest, lostLine)
			if i < 0 {
				break
			}
			rest = rest[i:]
			line := rest[:bytes.IndexByte(rest, '\n')]
			var rec struct {
				Lost uint64 `json:"lost"`
			}
			if err := json.Unmarshal(line, &rec); err != nil {
				return fmt.Errorf("lost record %s: %w", line, err)
			}
			c.lost.Add(rec.Lost)
			rest = rest[len(line):]
		}
		kept = copy(buf, buf[end:kept])
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		case kept == len(buf):
			return errors.New("an output line longer than 4 MiB")
		}
	}
}

// wait returns once sigguard has closed its end and every line is counted.
func (c *lineCounter) wait() error { return <-c.done }

func (c *lineCounter) close() {
	c.w.Close()
	c.r.Close()
}

// interventionsCounted reads the kernel's count of interventions from the
// summary sigguard logs (as JSON) when it stops.
func interventionsCounted(stderr []byte) (uint64, error) {
	s := bufio.NewScanner(bytes.NewReader(stderr))
	for s.Scan() {
		var line struct {
			Interventions *uint64 `json:"interventions"`
		}
		if json.Unmarshal(s.Bytes(), &line) == nil && line.Interventions != nil {
			return *line.Interventions, nil
		}
	}
	return 0, fmt.Errorf("no summary from sigguard: %s", lastLine(string(stderr)))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// processCPUOf is the user and system time of every thread of pid, from
// /proc/PID/stat (clock ticks of 10 ms).
func processCPUOf(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, _ := strconv.ParseUint(f[11], 10, 64)
	stime, _ := strconv.ParseUint(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, nil
}

// ticksPerSecond is USER_HZ, which Linux fixes at 100 for user space.
const ticksPerSecond = 100
