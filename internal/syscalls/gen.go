package syscalls

// numbers_amd64.go is generated from golang.org/x/sys's table of x86-64
// syscall numbers (unix/zsysnum_linux_amd64.go) in the module cache.
//go:generate go run ./internal/gennumbers -o numbers_amd64.go
