//go:build !(linux && amd64 && cgo)

// Command harness needs linux/amd64 and cgo; elsewhere it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "harness: needs linux/amd64 and cgo (CGO_ENABLED=1)")
	os.Exit(2)
}
