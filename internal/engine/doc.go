// Package engine starts a child that runs a plan.Program and nothing else.
//
// It is the only package with unsafe code and assembly. The parent blocks
// every signal, calls clone3 with CLONE_VM (the child shares our memory and
// runs on a stack of its own), and restores its mask, all inside one
// assembly function; the child jumps straight into a small interpreter that
// issues the program's raw system calls and ends with execve. The parent
// then sleeps on the CLONE_CHILD_CLEARTID word, which the kernel clears and
// wakes when the child stops using our memory: at a successful execve, or
// when a failing child exits after writing {step, errno} into the shared
// block.
//
// The stack, the shared block and the linked program live in memory mapped
// outside the Go heap, so no collector scans, moves or frees what the child
// reads. Regions are pooled and reused only after the kernel has cleared the
// child's CLEARTID word.
package engine
