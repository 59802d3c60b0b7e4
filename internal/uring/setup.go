package uring

// Setup flags for a ring whose completions only its submitter posts.
const (
	// SetupSingleIssuer says one task, the ring's creator, submits all
	// requests (Linux 6.0).
	SetupSingleIssuer = 1 << 12
	// SetupDeferTaskrun defers the posting of completions that finish
	// outside the submitter (io-wq workers) until the submitter calls
	// io_uring_enter with GETEVENTS (Linux 6.1; needs SetupSingleIssuer).
	SetupDeferTaskrun = 1 << 13
)
