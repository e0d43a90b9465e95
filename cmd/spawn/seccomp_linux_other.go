//go:build linux && !amd64

package main

import "runtime"

// --seccomp-deny knows system call names and the audit architecture for
// amd64 only.
const (
	auditArch = 0
	x32Bit    = 0
)

var (
	runtimeArch    = runtime.GOARCH
	syscallNumbers = map[string]uint32{}
)
