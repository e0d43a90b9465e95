//go:build linux

//lint:file-ignore U1000 these constants reach the assembly through go_asm.h

package engine

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gospawn/spawn/internal/plan"
)

// Constants the assembly uses, exported to it through go_asm.h.
const (
	modeClone3 = 0
	modeClone  = 1

	sysRtSigprocmask = unix.SYS_RT_SIGPROCMASK
	sysRtSigaction   = unix.SYS_RT_SIGACTION
	sysClone3        = unix.SYS_CLONE3
	sysClone         = unix.SYS_CLONE
	sysExitGroup     = unix.SYS_EXIT_GROUP
	sigSetmask       = unix.SIG_SETMASK
	cloneArgsSize    = unsafe.Sizeof(cloneArgs{})
	errEnded         = unix.ENOEXEC
	exitFailed       = 127

	opNr          = plan.WordNr * 8
	opArg0        = plan.WordArg0 * 8
	opArg1        = opArg0 + 8
	opArg2        = opArg0 + 16
	opArg3        = opArg0 + 24
	opArg4        = opArg0 + 32
	opArg5        = opArg0 + 40
	opFlags       = plan.WordFlags * 8
	opStoreAddr   = plan.WordStoreAddr * 8
	opExpect      = plan.WordExpect * 8
	opExpectErrno = plan.WordExpectErrno * 8
	opAllowErrno  = plan.WordAllowErrno * 8
	opStep        = plan.WordStep * 8
	opSize        = plan.OpSize
	flagStore     = plan.FlagStore
	flagExpect    = plan.FlagExpect
	flagReset     = plan.FlagReset
	flagWait      = plan.FlagWait
	sysFutex      = unix.SYS_FUTEX
	negETIMEDOUT  = -int(unix.ETIMEDOUT)
)
