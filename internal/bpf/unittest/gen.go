// Package unittest holds a BPF object for tests only: raw_tp programs that
// include the kernel side's real headers (internal/bpf/*.h) and run its
// target resolution and matching on their own through BPF_PROG_TEST_RUN,
// in the calling thread. sigguard never loads it. Regenerate with
// `go generate ./internal/bpf/unittest` after changing the C or the
// headers, and commit the generated files.
package unittest

//go:generate go tool bpf2go -cc clang-14 -strip llvm-strip-14 -cflags "-O2 -g -Wall -Werror" -target bpfel -tags linux -type resolve_result -type file_result -type match_result -type condition_result Unit unit.bpf.c -- -I.. -I../include
