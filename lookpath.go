package spawn

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// lookPath finds the executable file named file in the directories of
// path (a PATH value), like exec.LookPath does with the parent's PATH.
// A file name containing a slash is not looked up. The error is an *Error
// naming the PATH searched; it wraps ErrNotFound, or ErrDot when the file
// was found only through a relative entry (then the relative path is
// returned too, so the caller can still choose to run it).
func lookPath(file, path string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	if file == "" || file == "." || file == ".." {
		return "", &Error{Path: file, Step: "search PATH", Arg: quote(path), Err: ErrNotFound}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "." // an empty entry means the current directory
		}
		p := filepath.Join(dir, file)
		if !isExecutable(p) {
			continue
		}
		if !filepath.IsAbs(p) {
			// filepath.Join dropped the "./"; keep it so the result
			// is not looked up again.
			if !strings.HasPrefix(p, "./") && !strings.HasPrefix(p, "../") {
				p = "./" + p
			}
			return p, &Error{Path: file, Step: "search PATH", Arg: quote(path), Err: ErrDot,
				Hint: "found as " + p + "; clear Cmd.Err to run it"}
		}
		return p, nil
	}
	return "", &Error{Path: file, Step: "search PATH", Arg: quote(path), Err: ErrNotFound}
}

// execHint explains an execve failure for path, looking at the file only
// now that the exec has failed.
func execHint(path, dir string, err error) string {
	if dir != "" && !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	fi, statErr := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if statErr == nil {
			return "the file exists: its #! interpreter or its dynamic loader is missing"
		}
	case errors.Is(err, fs.ErrPermission):
		if statErr != nil {
			return ""
		}
		if fi.IsDir() {
			return "it is a directory"
		}
		if !fi.Mode().IsRegular() {
			return "not a regular file"
		}
		if fi.Mode()&0o111 == 0 {
			return "not executable: mode " + fi.Mode().String()
		}
		return "a directory on the path is not searchable, or the file system is mounted noexec"
	case errors.Is(err, errNoExec):
		return "not a binary this kernel runs, and no #! interpreter line"
	}
	return ""
}
