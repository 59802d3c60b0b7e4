// Package bpf holds the programs `sigguard bench` measures with and
// compares against. Regenerate with `go generate ./internal/bench/bpf`.
package bpf

//go:generate go tool bpf2go -cc clang-14 -strip llvm-strip-14 -cflags "-O2 -g -Wall -Werror" -target bpfel -tags linux Bench bench.bpf.c -- -I../../bpf/include
