//go:build !linux

package spawn

// SecurityAttrs restricts what the program may do (Linux only).
type SecurityAttrs struct {
	NoNewPrivs bool
	InheritFDs bool
}
