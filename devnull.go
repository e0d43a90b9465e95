package spawn

import (
	"os"
	"sync"
)

// devNull returns a shared /dev/null, open for reading and writing, for
// standard streams the caller left nil. It is opened once and never closed,
// so a Start with nil streams opens no file.
var devNull = sync.OnceValues(func() (*os.File, error) {
	return os.OpenFile(os.DevNull, os.O_RDWR, 0)
})
