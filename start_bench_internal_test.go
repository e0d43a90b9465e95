package spawn

import (
	"errors"
	"testing"

	"github.com/gospawn/spawn/internal/probe"
)

// BenchmarkBegin measures the work Start does before it creates the child:
// environment, validation, planning input, streams.
func BenchmarkBegin(b *testing.B) {
	noop := probe.NoopForTest(b)
	b.ReportAllocs()
	for b.Loop() {
		c := Command(noop)
		st := newStarting()
		if err := c.begin(st); err != nil {
			b.Fatal(err)
		}
		c.end(st, nil, errors.New("not started"))
		st.free()
	}
}
