package sigset

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestNamesMatchTheKernel(t *testing.T) {
	for n := 1; n < 32; n++ {
		if got, want := "SIG"+Name(n), unix.SignalName(unix.Signal(n)); want != "" && got != want {
			t.Errorf("signal %d: %s, x/sys/unix says %s", n, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Set
		str  string
	}{
		{"INT,TERM", 1<<1 | 1<<14, "INT,TERM"},
		{"sigint, SIGterm ,2", 1<<1 | 1<<14, "INT,TERM"},
		{"RTMIN+3", 1 << 36, "RTMIN+3"},
		{"RTMIN,RTMAX,RTMAX-1", 1<<33 | 1<<63 | 1<<62, "RTMIN,RTMIN+29,RTMAX"},
		{"32,33", 1<<31 | 1<<32, "32,33"},
		{"none", 0, "none"},
		{"", 0, "none"},
		{"all", ^Set(0), "all"},
		{"iot,cld", 1<<5 | 1<<16, "ABRT,CHLD"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %#x, %v; want %#x", tt.in, got, err, tt.want)
			continue
		}
		if got.String() != tt.str {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got.String(), tt.str)
		}
		if back, _ := Parse(got.String()); back != got {
			t.Errorf("round trip of %q: %#x", tt.in, back)
		}
	}
	for _, bad := range []string{"FOO", "0", "65", "RTMIN+31", "RTMAX-31", "RTMIN-1", "INT,,TERM"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}
