//go:build linux && amd64

package engine

const supported = true

// rawSpawn blocks every signal, clones the child described by h, restores
// the thread's signal mask and returns the child's pid, or -errno if the
// clone failed. The child never returns from it: it runs the program at
// h.prog and execs, or records its failure in h and exits 127.
//
//go:noescape
func rawSpawn(h *header) uintptr
