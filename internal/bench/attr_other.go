//go:build !linux

package bench

import "syscall"

// childAttr puts a benchmark subprocess in a process group of its own.
// (spawn starts processes only on Linux: elsewhere Run fails early.)
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
