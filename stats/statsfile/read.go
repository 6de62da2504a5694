package statsfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// ErrInput is matched (errors.Is) by every error for a bad parameter or
// sample file: a missing or conflicting parameter, a file that cannot be
// read, a value that does not parse. The error's text says what is wrong
// and where (file:line).
var ErrInput = errors.New("statsfile: bad input")

// inputError is an ErrInput with its message.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

// Is reports whether target is ErrInput.
func (e *inputError) Is(target error) bool { return target == ErrInput }

// inputErrorf formats an ErrInput error.
func inputErrorf(format string, a ...any) error {
	return &inputError{fmt.Sprintf(format, a...)}
}

// ReadNumbers reads a file of one finite number per line. A bad file or
// value is an ErrInput naming the file and line. It parses while scanning:
// no line is kept as a string.
func ReadNumbers(path string) ([]float64, error) {
	var c chunked[float64]
	err := scanValueLines(path, func(no int, text []byte) error {
		v, err := parseFinite(path, no, text)
		c.add(v)
		return err
	})
	return c.slice(), err
}

// chunked collects values in fixed-size chunks and joins them once, into a
// slice of exactly their number: a large sample costs twice its size at the
// peak, not the sum of every grown copy.
type chunked[T any] struct {
	full [][]T
	cur  []T
}

// chunkLen is the number of values of one chunk.
const chunkLen = 1 << 15

// add appends v, starting a new chunk when the current one is full.
func (c *chunked[T]) add(v T) {
	if len(c.cur) == cap(c.cur) {
		if c.cur != nil {
			c.full = append(c.full, c.cur)
		}
		c.cur = make([]T, 0, chunkLen)
	}
	c.cur = append(c.cur, v)
}

// slice returns every value added, in order, in one slice.
func (c *chunked[T]) slice() []T {
	out := make([]T, 0, len(c.full)*chunkLen+len(c.cur))
	for _, f := range c.full {
		out = append(out, f...)
	}
	return append(out, c.cur...)
}

// ReadLabels reads a file of one label per line (surrounding space is
// trimmed).
func ReadLabels(path string) ([]string, error) {
	var out []string
	err := scanValueLines(path, func(_ int, text []byte) error {
		out = append(out, string(text))
		return nil
	})
	return out, err
}

// ReadVectors reads a file of numbers, one per line, or of comma-separated
// vectors (one per line, all of one dimension). A line of another dimension
// is an ErrInput naming the file and line.
func ReadVectors(path string) ([][]float64, error) {
	r := vectorReader{path: path}
	err := scanValueLines(path, r.line)
	return r.out, err
}

// vectorReader holds what ReadVectors has read so far.
type vectorReader struct {
	path string
	dim  int // of the first vector
	out  [][]float64
}

// line parses line no, text, as one vector.
func (r *vectorReader) line(no int, text []byte) error {
	v := make([]float64, 0, r.dim)
	for f := range bytes.SplitSeq(text, []byte(",")) {
		x, err := parseFinite(r.path, no, bytes.TrimSpace(f))
		if err != nil {
			return err
		}
		v = append(v, x)
	}
	if r.dim == 0 {
		r.dim = len(v)
	} else if len(v) != r.dim {
		return inputErrorf("%s:%d: vector of dimension %d, earlier lines have %d", r.path, no, len(v), r.dim)
	}
	r.out = append(r.out, v)
	return nil
}

// ReadCountTable reads a table of counts: one row per line, whitespace-
// separated. A bad count or a row of another length is an ErrInput naming
// the file and line.
func ReadCountTable(path string) ([][]float64, error) {
	r := tableReader{path: path}
	err := scanValueLines(path, r.line)
	return r.rows, err
}

// tableReader holds what ReadCountTable has read so far.
type tableReader struct {
	path  string
	width int // of the first row
	rows  [][]float64
}

// line parses line no, text, as one row of counts.
func (r *tableReader) line(no int, text []byte) error {
	fields := strings.Fields(string(text))
	row := make([]float64, len(fields))
	for k, f := range fields {
		v, err := parseFinite(r.path, no, []byte(f))
		if err != nil {
			return err
		}
		if v < 0 || v != math.Trunc(v) {
			return inputErrorf("%s:%d: %q is not a count", r.path, no, f)
		}
		row[k] = v
	}
	if r.width == 0 {
		r.width = len(row)
	} else if len(row) != r.width {
		return inputErrorf("%s:%d: row of %d counts, earlier rows have %d", r.path, no, len(row), r.width)
	}
	r.rows = append(r.rows, row)
	return nil
}

// parseFinite parses s, from line no of path, as a finite number.
func parseFinite(path string, no int, s []byte) (float64, error) {
	v, err := strconv.ParseFloat(string(s), 64) // no copy: the string does not escape
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, inputErrorf("%s:%d: %q is not a finite number", path, no, s)
	}
	return v, nil
}

// scanValueLines calls value with the number and the trimmed text of each
// non-blank, non-comment line of path, as it scans (text is valid only
// during the call); a file without any is an ErrInput, and so is the
// first error of value.
func scanValueLines(path string, value func(no int, text []byte) error) error {
	if path == "" {
		return inputErrorf("a sample file is required")
	}
	f, err := os.Open(path)
	if err != nil {
		return inputErrorf("%v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := false
	for n := 1; sc.Scan(); n++ {
		t := bytes.TrimSpace(sc.Bytes())
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		seen = true
		if err := value(n, t); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return inputErrorf("%s: %v", path, err)
	}
	if !seen {
		return inputErrorf("%s: no values", path)
	}
	return nil
}
