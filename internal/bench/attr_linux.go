package bench

import "syscall"

// childAttr puts a benchmark subprocess in a process group of its own and
// kills it if the benchmark dies.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
