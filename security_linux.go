//go:build linux

package spawn

import "golang.org/x/sys/unix"

// SecurityAttrs restricts what the program may do.
type SecurityAttrs struct {
	// NoNewPrivs sets no_new_privs: exec can never grant privileges again
	// (no setuid bits, no file capabilities). Needed for Seccomp unless the
	// parent has CAP_SYS_ADMIN.
	NoNewPrivs bool
	// Seccomp, if not empty, is a classic BPF filter (struct sock_filter
	// array) installed last before exec, after no_new_privs: it must allow
	// execve (execveat with ExecFile), which the child calls after it.
	Seccomp []unix.SockFilter
	// InheritFDs lets the child keep descriptors the parent has open
	// without O_CLOEXEC besides Stdin..ExtraFiles (os/exec behaviour). By
	// default they are closed at exec.
	InheritFDs bool
}
