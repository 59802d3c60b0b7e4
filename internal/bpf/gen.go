// Package bpf holds sigguard's kernel programs and their generated Go
// bindings. The C is the only definition of the structs shared with user
// space; run `go generate ./internal/bpf` after changing it and commit the
// generated files (clang-14, as pinned here, keeps the output reproducible).
// The programs read x86 registers (the deny tiers' syscall number, the
// 32-bit hooks' arguments), so the object is built for amd64 only: on
// another architecture the package does not build, rather than failing to
// load.
package bpf

//go:generate go tool bpf2go -cc clang-14 -strip llvm-strip-14 -cflags "-O2 -g -Wall -Werror" -target amd64 -tags linux -type event -type rule -type action -type counter -type syscall_id -type event_kind -type rule_counter -type match_key -type policy -type matcher_key -type matcher_masks -type kill -type sharers -type target_kind -type limit -type pin_record -type rule_name -type tier -type generic_rule -type condition -type condition_op -type rate_scope -type condition_field Guard sigguard.bpf.c -- -I./include
