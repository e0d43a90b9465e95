// Package plan turns the attributes of a process into the program its child
// runs between clone and execve: a flat list of raw system calls.
//
// Everything here is pure Go with no system calls, so every decision about
// what the child does can be unit-tested and printed (spawn explain) without
// starting a process. The engine links a Program into memory the child can
// read and runs it with a small interpreter written in assembly.
package plan
