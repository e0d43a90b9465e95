//go:build linux

package plan

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

func limitString(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

// planLimits emits step 5: resource limits, priority, scheduling, CPU
// affinity, I/O priority and umask.
func planLimits(p *Program, s *Spec) {
	for _, rl := range s.Rlimits {
		b := make([]byte, 16)
		binary.NativeEndian.PutUint64(b, rl.Cur)
		binary.NativeEndian.PutUint64(b[8:], rl.Max)
		show := limitString(rl.Cur) + ":" + limitString(rl.Max)
		st := p.AddStep("setrlimit", rl.Name+" "+show)
		p.Call(st, unix.SYS_PRLIMIT64, I(0), I(rl.Resource), p.AddBytes(b, "{"+show+"}"), I(0))
	}
	if s.Nice != nil {
		st := p.AddStep("setpriority", "nice "+strconv.Itoa(*s.Nice))
		p.Call(st, unix.SYS_SETPRIORITY, I(unix.PRIO_PROCESS), I(0), I(int64(*s.Nice)))
	}
	if s.Sched != nil {
		b := make([]byte, 8)
		binary.NativeEndian.PutUint32(b, uint32(s.Sched.Priority))
		st := p.AddStep("sched_setscheduler", s.Sched.Text)
		p.Call(st, unix.SYS_SCHED_SETSCHEDULER, I(0), I(s.Sched.Policy), p.AddBytes(b, fmt.Sprintf("{priority %d}", s.Sched.Priority)))
	}
	if s.Affinity != nil {
		st := p.AddStep("sched_setaffinity", "CPUs "+s.AffinityText)
		p.Call(st, unix.SYS_SCHED_SETAFFINITY, I(0), I(len(s.Affinity)), p.AddBytes(s.Affinity, "{"+s.AffinityText+"}"))
	}
	if s.IOPrio != nil {
		st := p.AddStep("ioprio_set", s.IOPrio.Text)
		p.Call(st, unix.SYS_IOPRIO_SET, I(ioprioWhoProcess), I(0), I(s.IOPrio.Value))
	}
	if s.Umask != nil {
		st := p.AddStep("umask", fmt.Sprintf("%03o", *s.Umask))
		p.Call(st, unix.SYS_UMASK, I(*s.Umask))
	}
}

// ioprioWhoProcess is IOPRIO_WHO_PROCESS (linux/ioprio.h), absent from
// x/sys/unix.
const ioprioWhoProcess = 1
