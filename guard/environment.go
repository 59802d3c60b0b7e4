package guard

import "strings"

// EnvironmentError means the guard refuses to start where it would
// enforce wrongly or not at all: in a container that does not share what
// it must with the host, or without the capabilities it needs. Nothing was
// loaded. Each problem comes with its fix.
type EnvironmentError struct {
	Problems []string
}

func (e *EnvironmentError) Error() string {
	if len(e.Problems) == 1 {
		return "cannot enforce here: " + e.Problems[0]
	}
	return "cannot enforce here:\n  - " + strings.Join(e.Problems, "\n  - ")
}
