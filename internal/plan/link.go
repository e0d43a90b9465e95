//go:build linux

package plan

import (
	"encoding/binary"
	"fmt"
)

// The linked form of an op, as the engine's interpreter reads it: OpWords
// 8-byte words.
const (
	WordNr          = 0  // system call number
	WordArg0        = 1  // arguments 0..5 in words 1..6
	WordFlags       = 7  // Flag* bits
	WordStoreAddr   = 8  // where to store the result (FlagStore)
	WordExpect      = 9  // the required result (FlagExpect)
	WordExpectErrno = 10 // errno to report when the result differs
	WordAllowErrno  = 11 // an errno that counts as success, or 0
	WordStep        = 12 // step index, reported on failure
	OpWords         = 13
	OpSize          = OpWords * 8
)

// Flag bits of WordFlags. Bits 0-5 mark indirect arguments: the argument
// word holds an address whose 8-byte value is passed instead.
const (
	FlagIndirect0 = 1 << 0
	FlagStore     = 1 << 6
	FlagExpect    = 1 << 7
	FlagReset     = 1 << 8 // the op is ResetHandlers, not a system call
	FlagWait      = 1 << 9 // the op is WaitNonZero, not a system call
)

// SlotOffset is the offset, from the start of the linked program, of slot
// number slot (the engine wakes the child through the wake slot).
func (p *Program) SlotOffset(slot int) int { return len(p.Ops)*OpSize + 8*slot }

// Size returns the number of bytes Link writes.
func (p *Program) Size() int {
	n := len(p.Ops)*OpSize + p.Slots*8
	for i := range p.Data {
		n += datumSize(&p.Data[i])
	}
	return n
}

func align8(n int) int { return (n + 7) &^ 7 }

func datumSize(d *Datum) int {
	switch d.Kind {
	case CString:
		return align8(len(d.Str) + 1)
	case CStringVec:
		n := (len(d.Vec) + 1) * 8
		for _, s := range d.Vec {
			n += len(s) + 1
		}
		return align8(n)
	case SockFprog:
		return 16 + align8(len(d.Raw))
	case SigSet:
		return 8
	default:
		return align8(len(d.Raw))
	}
}

// Link writes the program into dst, which the child will see at address
// base, resolving every data and slot reference to an address. savedMask is
// the address of the spawning thread's saved signal mask. It returns the
// number of bytes written. Ops come first, so the first op is at base.
func (p *Program) Link(dst []byte, base, savedMask uint64) (int, error) {
	if err := p.Validate(); err != nil {
		return 0, err
	}
	size := p.Size()
	if len(dst) < size {
		return 0, fmt.Errorf("plan: program needs %d bytes, have %d", size, len(dst))
	}
	le := binary.NativeEndian
	slotBase := len(p.Ops) * OpSize
	dataOff := slotBase + p.Slots*8

	// Lay out the data first: ops need their addresses.
	var addrBuf [16]uint64
	addrs := addrBuf[:0]
	off := dataOff
	for i := range p.Data {
		d := &p.Data[i]
		addrs = append(addrs, base+uint64(off))
		switch d.Kind {
		case CString:
			copy(dst[off:], d.Str)
			dst[off+len(d.Str)] = 0
		case CStringVec:
			ptrs := off
			str := off + (len(d.Vec)+1)*8
			for j, s := range d.Vec {
				le.PutUint64(dst[ptrs+8*j:], base+uint64(str))
				copy(dst[str:], s)
				dst[str+len(s)] = 0
				str += len(s) + 1
			}
			le.PutUint64(dst[ptrs+8*len(d.Vec):], 0)
		case SigSet:
			le.PutUint64(dst[off:], d.Word)
		case SockFprog:
			// struct sock_fprog { unsigned short len; struct sock_filter *filter; }
			clear(dst[off : off+16])
			le.PutUint16(dst[off:], uint16(len(d.Raw)/8))
			le.PutUint64(dst[off+8:], base+uint64(off+16))
			copy(dst[off+16:], d.Raw)
		default:
			copy(dst[off:], d.Raw)
		}
		off += datumSize(d)
	}
	clear(dst[slotBase:dataOff])

	for i := range p.Ops {
		op := &p.Ops[i]
		w := dst[i*OpSize : (i+1)*OpSize]
		var flags uint64
		for j, a := range op.Args {
			var v uint64
			switch a.Kind {
			case Imm:
				v = a.Val
			case DataAddr:
				v = addrs[a.Val]
			case SlotAddr:
				v = base + uint64(slotBase) + 8*a.Val
			case SlotValue:
				v = base + uint64(slotBase) + 8*a.Val
				flags |= FlagIndirect0 << j
			case SavedMaskAddr:
				v = savedMask
			}
			le.PutUint64(w[8*(WordArg0+j):], v)
		}
		var store uint64
		if op.Store != NoSlot {
			flags |= FlagStore
			store = base + uint64(slotBase) + 8*uint64(op.Store)
		}
		if op.HasExpect {
			flags |= FlagExpect
		}
		switch op.Kind {
		case ResetHandlers:
			flags |= FlagReset
		case WaitNonZero:
			flags |= FlagWait
		}
		le.PutUint64(w[8*WordNr:], uint64(op.Nr))
		le.PutUint64(w[8*WordFlags:], flags)
		le.PutUint64(w[8*WordStoreAddr:], store)
		le.PutUint64(w[8*WordExpect:], op.Expect)
		le.PutUint64(w[8*WordExpectErrno:], uint64(op.ExpectErrno))
		le.PutUint64(w[8*WordAllowErrno:], uint64(op.AllowErrno))
		le.PutUint64(w[8*WordStep:], uint64(op.Step))
	}
	return size, nil
}
