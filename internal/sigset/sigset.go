// Package sigset names, parses and prints sets of Linux signals, the way
// /proc/PID/status lays them out: bit n-1 stands for signal n (1..64).
package sigset

import (
	"fmt"
	"strconv"
	"strings"
)

// Set is a set of signals 1..64: bit n-1 stands for signal n.
type Set uint64

// RTMin is the first real-time signal as C programs see it (SIGRTMIN):
// glibc keeps the kernel's 32 and 33 for itself, and `kill -l` names 34
// RTMIN too. RTMIN+3 is 37.
const (
	RTMin = 34
	RTMax = 64
)

// names are the Linux names of signals 1..31, without "SIG".
var names = [32]string{
	1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 5: "TRAP", 6: "ABRT", 7: "BUS", 8: "FPE",
	9: "KILL", 10: "USR1", 11: "SEGV", 12: "USR2", 13: "PIPE", 14: "ALRM", 15: "TERM",
	16: "STKFLT", 17: "CHLD", 18: "CONT", 19: "STOP", 20: "TSTP", 21: "TTIN", 22: "TTOU",
	23: "URG", 24: "XCPU", 25: "XFSZ", 26: "VTALRM", 27: "PROF", 28: "WINCH", 29: "IO",
	30: "PWR", 31: "SYS",
}

// aliases are other names accepted by Parse.
var aliases = map[string]int{"IOT": 6, "POLL": 29, "CLD": 17}

// Name returns the name of signal n without "SIG": "INT", "RTMIN+3",
// "RTMAX", or the number for 32 and 33.
func Name(n int) string {
	switch {
	case n >= 1 && n < 32:
		return names[n]
	case n == RTMin:
		return "RTMIN"
	case n == RTMax:
		return "RTMAX"
	case n > RTMin && n < RTMax:
		return "RTMIN+" + strconv.Itoa(n-RTMin)
	}
	return strconv.Itoa(n)
}

// Number parses one signal: a name with or without "SIG" in any case
// ("int", "SIGTERM", "RTMIN+3", "RTMAX-1") or a number 1..64.
func Number(s string) (int, error) {
	orig := s
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "SIG")
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("signal %s out of range 1..64", orig)
		}
		return n, nil
	}
	for n, name := range names {
		if name != "" && name == s {
			return n, nil
		}
	}
	if n, ok := aliases[s]; ok {
		return n, nil
	}
	for _, base := range []struct {
		name string
		n    int
		sign int
	}{{"RTMIN", RTMin, 1}, {"RTMAX", RTMax, -1}} {
		rest, ok := strings.CutPrefix(s, base.name)
		if !ok {
			continue
		}
		if rest == "" {
			return base.n, nil
		}
		op := "+"
		if base.sign < 0 {
			op = "-"
		}
		if off, ok := strings.CutPrefix(rest, op); ok {
			k, err := strconv.Atoi(off)
			if err == nil && k >= 0 {
				n := base.n + base.sign*k
				if n >= RTMin && n <= RTMax {
					return n, nil
				}
			}
		}
		return 0, fmt.Errorf("signal %s out of range %s..%s", orig, "RTMIN", "RTMAX")
	}
	return 0, fmt.Errorf("unknown signal %q", orig)
}

// Parse reads a comma-separated list of signals ("INT,TERM,RTMIN+3"), or
// "all" (every signal), or "none" / "" (the empty set).
func Parse(s string) (Set, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "none":
		return 0, nil
	case "all":
		return ^Set(0), nil
	}
	var set Set
	for _, part := range strings.Split(s, ",") {
		n, err := Number(part)
		if err != nil {
			return 0, err
		}
		set = set.Add(n)
	}
	return set, nil
}

// Has reports whether signal n is in s.
func (s Set) Has(n int) bool { return n >= 1 && n <= 64 && s&(1<<(n-1)) != 0 }

// Add returns s with signal n added.
func (s Set) Add(n int) Set {
	if n < 1 || n > 64 {
		return s
	}
	return s | 1<<(n-1)
}

// Signals lists the signals of s in increasing order.
func (s Set) Signals() []int {
	var out []int
	for n := 1; n <= 64; n++ {
		if s.Has(n) {
			out = append(out, n)
		}
	}
	return out
}

// String prints s as Parse reads it: "INT,TERM,RTMIN+3", "none" or "all".
func (s Set) String() string {
	switch s {
	case 0:
		return "none"
	case ^Set(0):
		return "all"
	}
	var b strings.Builder
	for _, n := range s.Signals() {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(Name(n))
	}
	return b.String()
}
