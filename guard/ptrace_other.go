//go:build !amd64

package guard

// Other architectures' own requests are shown by number.
var archPtraceRequests = map[int64]string{}
