package spawn

import (
	"bytes"
	"strconv"
)

// prefixSuffixSaver keeps the first and last N bytes written to it, for
// ExitError.Stderr.
type prefixSuffixSaver struct {
	N         int
	prefix    []byte
	suffix    []byte // a ring buffer once len(suffix) == N
	suffixOff int
	skipped   int64
}

func (w *prefixSuffixSaver) Write(p []byte) (int, error) {
	n := len(p)
	p = w.fill(&w.prefix, p)
	if over := len(p) - w.N; over > 0 {
		p = p[over:]
		w.skipped += int64(over)
	}
	p = w.fill(&w.suffix, p)
	for len(p) > 0 {
		k := copy(w.suffix[w.suffixOff:], p)
		p = p[k:]
		w.skipped += int64(k)
		w.suffixOff += k
		if w.suffixOff == w.N {
			w.suffixOff = 0
		}
	}
	return n, nil
}

func (w *prefixSuffixSaver) fill(dst *[]byte, p []byte) []byte {
	if room := w.N - len(*dst); room > 0 {
		k := min(len(p), room)
		*dst = append(*dst, p[:k]...)
		p = p[k:]
	}
	return p
}

// Bytes returns the prefix, a note of how much was skipped, and the suffix.
func (w *prefixSuffixSaver) Bytes() []byte {
	if w.suffix == nil {
		return w.prefix
	}
	if w.skipped == 0 {
		return append(w.prefix, w.suffix...)
	}
	var b bytes.Buffer
	b.Write(w.prefix)
	b.WriteString("\n... omitting " + strconv.FormatInt(w.skipped, 10) + " bytes ...\n")
	b.Write(w.suffix[w.suffixOff:])
	b.Write(w.suffix[:w.suffixOff])
	return b.Bytes()
}
