//go:build !amd64

package main

// Helpers are written in x86-64 assembly only.
func helperRoute(string) (kind, route string, ok bool) { return "", "", false }

func runHelper(kind, route string, pid int) {}
