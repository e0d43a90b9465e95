//go:build linux && amd64 && cgo

package main

import (
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"
)

// selftestResult holds what each negative control left in the detectors.
type selftestResult struct {
	common
	ForkMallocStatus     string `json:"fork_malloc_status"`
	ForkMallocEvents     uint64 `json:"fork_malloc_events"`
	CloneVMMallocStatus  string `json:"clonevm_malloc_status"`
	CloneVMMallocEvents  uint64 `json:"clonevm_malloc_events"`
	CloneVMHandlerStatus string `json:"clonevm_handler_status"`
	CloneVMHandlerRuns   uint64 `json:"clonevm_handler_runs_other"`
}

func runSelftest(args []string) (any, error) {
	fs := flag.NewFlagSet("selftest", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	res := &selftestResult{common: newCommon("selftest", "")}
	for _, s := range []syscall.Signal{sigC1, sigC2} {
		if err := installCHandler(s); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	events := func() uint64 {
		l, err := liveLog()
		if err != nil {
			fail(err)
		}
		return l.ChildEvents
	}
	desc := func(ws syscall.WaitStatus, err error) string {
		switch {
		case err != nil:
			return err.Error()
		case ws.Exited():
			return fmt.Sprintf("exit status %d", ws.ExitStatus())
		case ws.Signaled():
			return "killed by " + sigName(ws.Signal())
		}
		return fmt.Sprintf("status %#x", uint32(ws))
	}

	e0 := events()
	res.ForkMallocStatus = desc(forkMalloc())
	e1 := events()
	res.ForkMallocEvents = e1 - e0
	res.CloneVMMallocStatus = desc(cloneVMMalloc())
	e2 := events()
	res.CloneVMMallocEvents = e2 - e1
	_, before, _ := handlerRuns()
	res.CloneVMHandlerStatus = desc(cloneVMHandler(sigC1))
	_, after, _ := handlerRuns()
	res.CloneVMHandlerRuns = after - before

	res.Seconds = time.Since(start).Seconds()
	if err := res.finish(); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "harness selftest: the messages above (if any) come from the negative controls\n")
	return res, nil
}
