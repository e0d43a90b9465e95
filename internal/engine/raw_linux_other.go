//go:build linux && !amd64

package engine

const supported = false

func rawSpawn(h *header) uintptr { panic("engine: rawSpawn on an unsupported platform") }
