package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/reprise-dev/reprise/record"
)

// Result is what one import did: the rows read, the records written, the
// rows the filter left out, and the rows that could not be resolved (all
// counted, the first MaxListed listed, so memory stays bounded).
type Result struct {
	Log            string       `json:"log"`
	Rows           int64        `json:"rows"`
	Imported       int64        `json:"imported"`
	Filtered       int64        `json:"filtered_out"`
	UnresolvedRows int64        `json:"unresolved_rows"`
	Unresolved     []Unresolved `json:"unresolved"`
	// Out is where the records went ("" when nothing was written).
	Out string `json:"out,omitempty"`
	// Outcome is "ok" when a record was imported, OutcomeUnresolved when
	// rows were read but none resolved (and none was filtered out),
	// OutcomeNothing when the log or the filter left no row to import
	// (see Result.Conclude).
	Outcome string `json:"outcome"`
}

// Outcomes of an import that imported no record: neither is a success.
const (
	OutcomeUnresolved = "nothing resolved"
	OutcomeNothing    = "nothing selected"
)

// ErrNothingResolved: an import read rows and resolved none of them (the
// log, the version map or the store is wrong); ErrNothingSelected: the log,
// or the filter, left no row to import. Neither is a success.
var (
	ErrNothingResolved = errors.New("nothing imported")
	ErrNothingSelected = errors.New("nothing imported")
)

// Err is the condition of an import that imported nothing (Conclude
// first): ErrNothingResolved or ErrNothingSelected, saying why; nil when a
// record was imported.
func (r *Result) Err() error {
	switch r.Outcome {
	case OutcomeUnresolved:
		return fmt.Errorf("%w: none of the %d rows resolved (the reasons are listed above)", ErrNothingResolved, r.UnresolvedRows)
	case OutcomeNothing:
		return fmt.Errorf("%w: %s gave no row to import (%d rows, %d filtered out by --where/--since/--until, %d unresolved)", ErrNothingSelected, r.Log, r.Rows, r.Filtered, r.UnresolvedRows)
	}
	return nil
}

// Conclude sets r.Outcome from its counts (Write does).
func (r *Result) Conclude() {
	switch {
	case r.Imported > 0:
		r.Outcome = "ok"
	case r.UnresolvedRows > 0 && r.Filtered == 0:
		r.Outcome = OutcomeUnresolved
	default:
		r.Outcome = OutcomeNothing
	}
}

// WriteText writes r as aligned "key: value" lines, then each unresolved
// row listed as "line N: reason".
func (r *Result) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "log:          %s\nrows:         %d\nimported:     %d\nfiltered out: %d\nunresolved:   %d\n",
		r.Log, r.Rows, r.Imported, r.Filtered, r.UnresolvedRows)
	if r.Out != "" {
		fmt.Fprintf(w, "out:          %s\n", r.Out)
	}
	if r.Outcome != "" {
		fmt.Fprintf(w, "outcome:      %s\n", r.Outcome)
	}
	for _, u := range r.Unresolved {
		if _, err := fmt.Fprintf(w, "line %d: %s\n", u.Line, u.Reason); err != nil {
			return err
		}
	}
	if more := r.UnresolvedRows - int64(len(r.Unresolved)); more > 0 {
		_, err := fmt.Fprintf(w, "(%d more unresolved rows not listed)\n", more)
		return err
	}
	return nil
}

// MaxListed is how many unresolved rows a Result lists.
const MaxListed = 1000

// Unresolved is a row that could not become a record: its line (or Parquet
// row) and why.
type Unresolved struct {
	Line   int64  `json:"line"`
	Reason string `json:"reason"`
}

// WriteOptions say which rows of a log to keep and where their records go.
type WriteOptions struct {
	// Filter selects the records (nil keeps every one).
	Filter *Filter
	// Parquet, when set, is the Parquet decision log to write; otherwise
	// Dir is the folder that receives one <request_id>.json per record
	// (merged into an existing folder, never overwriting a record).
	Parquet, Dir string
	// Strict writes nothing when any row is unresolved (ErrUnresolved).
	Strict bool
}

// ErrUnresolved: with WriteOptions.Strict, some rows were unresolved and
// nothing was written.
var ErrUnresolved = errors.New("unresolved rows")

// DestError is an error of the destination, named by its flag (Flag: "-o"
// for WriteOptions.Parquet, "--out-dir" for Dir). Merge is false when its
// temporary file or folder could not be created (nothing was read): then
// it matches ErrDest, a destination the user can fix. Merge is true when a
// record could not be linked into an existing folder.
type DestError struct {
	Flag  string
	Merge bool
	Err   error
}

// ErrDest: the destination of Write cannot be created (see DestError).
var ErrDest = errors.New("unusable destination")

func (e *DestError) Error() string        { return e.Flag + ": " + e.Err.Error() }
func (e *DestError) Unwrap() error        { return e.Err }
func (e *DestError) Is(target error) bool { return target == ErrDest && !e.Merge }

// Write imports the log at path and writes the records it keeps. Records go
// to a temporary file (or folder) renamed into place at the end, so
// ErrUnresolved or an interruption leaves nothing behind. A request id seen
// before in the log is an unresolved row naming the first line. The Result
// is returned with ErrUnresolved too.
func (im *Importer) Write(ctx context.Context, path string, opts WriteOptions) (*Result, error) {
	w, err := newWriter(opts)
	if err != nil {
		return nil, err
	}
	defer w.cleanup()
	res := &Result{Log: path, Unresolved: []Unresolved{}}
	seen := map[string]int64{}
	var werr error
	err = im.Import(ctx, path, func(line int64, rec *record.Record, rowErr error) bool {
		res.Rows++
		reason, filtered := rowReason(rec, rowErr, opts.Filter, seen, line)
		switch {
		case filtered:
			res.Filtered++
		case reason != "":
			res.UnresolvedRows++
			if len(res.Unresolved) < MaxListed {
				res.Unresolved = append(res.Unresolved, Unresolved{Line: line, Reason: reason})
			}
		default:
			seen[rec.RequestID] = line
			if werr = w.write(rec); werr != nil {
				return false
			}
			res.Imported++
		}
		return true
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		return nil, err
	}
	res.Conclude()
	if opts.Strict && res.UnresolvedRows > 0 {
		return res, ErrUnresolved
	}
	if res.Out, err = w.commit(); err != nil {
		return nil, err
	}
	return res, nil
}

// rowReason says why the row on line is not written: filtered when the
// filter leaves it out, else the reason it is unresolved ("" to write it).
func rowReason(rec *record.Record, rowErr error, filter *Filter, seen map[string]int64, line int64) (reason string, filtered bool) {
	if rowErr != nil {
		var re *record.RowError
		if errors.As(rowErr, &re) {
			return (&record.Error{Problems: re.Problems}).Error(), false
		}
		return rowErr.Error(), false
	}
	if filter != nil {
		keep, err := filter.Keep(rec)
		if err != nil {
			return err.Error(), false
		}
		if !keep {
			return "", true
		}
	}
	if first, dup := seen[rec.RequestID]; dup {
		return fmt.Sprintf("request id %s already on line %d", rec.RequestID, first), false
	}
	return "", false
}

// writer writes records to a temporary Parquet file or folder and moves it
// into place.
type writer struct {
	opts WriteOptions
	tmp  string
	pf   *os.File
	pw   *record.ParquetWriter
}

func newWriter(opts WriteOptions) (*writer, error) {
	w := &writer{opts: opts}
	var err error
	if opts.Parquet != "" {
		if w.pf, err = os.CreateTemp(filepath.Dir(opts.Parquet), ".import-*.parquet"); err != nil {
			return nil, &DestError{Flag: "-o", Err: err}
		}
		w.tmp = w.pf.Name()
		if err := w.pf.Chmod(0o644); err != nil { // as record create -o writes, not CreateTemp's 0600
			w.pf.Close()
			os.Remove(w.tmp)
			return nil, &DestError{Flag: "-o", Err: err}
		}
		w.pw = record.NewParquetWriter(w.pf)
		return w, nil
	}
	parent := filepath.Dir(filepath.Clean(opts.Dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, &DestError{Flag: "--out-dir", Err: err}
	}
	if w.tmp, err = os.MkdirTemp(parent, ".import-*"); err != nil {
		return nil, &DestError{Flag: "--out-dir", Err: err}
	}
	return w, nil
}

func (w *writer) write(rec *record.Record) error {
	if w.pw != nil {
		return w.pw.Write(rec)
	}
	b, err := record.Marshal(rec)
	if err != nil {
		return err
	}
	return writeExcl(filepath.Join(w.tmp, rec.RequestID+".json"), b)
}

// commit moves the records into place and returns where they are.
func (w *writer) commit() (string, error) {
	if w.pw != nil {
		if err := w.pw.Close(); err != nil {
			return "", err
		}
		if err := w.pf.Sync(); err != nil {
			return "", err
		}
		return w.opts.Parquet, os.Rename(w.tmp, w.opts.Parquet)
	}
	if _, err := os.Stat(w.opts.Dir); err != nil {
		return w.opts.Dir, os.Rename(w.tmp, w.opts.Dir)
	}
	// Merge into an existing folder, never overwriting a record.
	ents, _ := os.ReadDir(w.tmp)
	for _, e := range ents {
		if err := os.Link(filepath.Join(w.tmp, e.Name()), filepath.Join(w.opts.Dir, e.Name())); err != nil {
			return "", &DestError{Flag: "--out-dir", Merge: true, Err: err}
		}
	}
	return w.opts.Dir, nil
}

// cleanup removes what commit did not move.
func (w *writer) cleanup() {
	if w.pf != nil {
		w.pf.Close()
		os.Remove(w.tmp)
		return
	}
	os.RemoveAll(w.tmp)
}

// writeExcl writes b to a new file at path, never following a symlink and
// never replacing a file.
func writeExcl(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
