package statsfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
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
	r := rowReader{path: path}
	err := scanValueLines(path, r.line)
	return r.rows, err
}

// ReadCountTable reads a table of counts: one row per line, whitespace-
// separated. A bad count or a row of another length is an ErrInput naming
// the file and line.
func ReadCountTable(path string) ([][]float64, error) {
	r := rowReader{path: path, counts: true}
	err := scanValueLines(path, r.line)
	return r.rows, err
}

// rowReader holds the rows of numbers, all of one length, read so far from
// a file of vectors or, with counts, a table of counts.
type rowReader struct {
	path   string
	counts bool // whitespace-separated counts, not comma-separated numbers
	width  int  // of the first row
	rows   [][]float64
}

// line parses line no, text, as one row.
func (r *rowReader) line(no int, text []byte) error {
	fields := r.fields(text)
	row := make([]float64, len(fields))
	for k, f := range fields {
		v, err := r.value(no, f)
		if err != nil {
			return err
		}
		row[k] = v
	}
	if r.width == 0 {
		r.width = len(row)
	} else if len(row) != r.width {
		return r.widthError(no, len(row))
	}
	r.rows = append(r.rows, row)
	return nil
}

// fields splits a row into its values.
func (r *rowReader) fields(text []byte) [][]byte {
	if r.counts {
		return bytes.Fields(text)
	}
	fields := bytes.Split(text, []byte(","))
	for i, f := range fields {
		fields[i] = bytes.TrimSpace(f)
	}
	return fields
}

// value parses the field f of line no: a finite number, or a count.
func (r *rowReader) value(no int, f []byte) (float64, error) {
	v, err := parseFinite(r.path, no, f)
	if err == nil && r.counts && (v < 0 || v != math.Trunc(v)) {
		err = inputErrorf("%s:%d: %q is not a count", r.path, no, f)
	}
	return v, err
}

// widthError says that line no holds a row of n values, not r.width.
func (r *rowReader) widthError(no, n int) error {
	if r.counts {
		return inputErrorf("%s:%d: row of %d counts, earlier rows have %d", r.path, no, n, r.width)
	}
	return inputErrorf("%s:%d: vector of dimension %d, earlier lines have %d", r.path, no, n, r.width)
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
