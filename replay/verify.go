package replay

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"maps"
	"os"
	"slices"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
)

// ErrIntegrity is wrapped by integrity failures found by Verify and Replay:
// a missing or corrupt artifact, an image pinned by tag, a system id that does
// not recompute. It is record.ErrIntegrity: one condition, whichever package
// finds it. The replay's own failures read "integrity failure: …".
var ErrIntegrity = record.ErrIntegrity

// ErrNoRecord is wrapped by the error of a record file that cannot be
// opened: missing, or unreadable.
var ErrNoRecord = errors.New("record file cannot be opened")

// LoadRecord reads and decodes the record at path. A missing file wraps
// ErrNoRecord; a malformed record returns a *record.Error wrapping
// record.ErrMalformed; a record with integrity problems only is returned
// together with its *record.Error (wrapping record.ErrIntegrity).
func LoadRecord(path string) (*record.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, inputf(ErrNoRecord, "record %s: no such file", path)
		}
		return nil, inputf(ErrNoRecord, "record %s: %v", path, err)
	}
	defer f.Close()
	return record.Decode(f)
}

// MissingFirst is err, unless err says the store is missing
// (store.ErrNoStore) and one of paths is missing too: then the error of
// the first missing record (wrapping ErrNoRecord, as LoadRecord's), the
// first thing to mend.
func MissingFirst(err error, paths []string) error {
	if !errors.Is(err, store.ErrNoStore) {
		return err
	}
	for _, p := range paths {
		if _, serr := os.Stat(p); errors.Is(serr, fs.ErrNotExist) {
			return inputf(ErrNoRecord, "record %s: no such file", p)
		}
	}
	return err
}

// Verifier is what Verify needs of the artifact store.
type Verifier interface {
	Verify(ctx context.Context, d digest.Digest) (int64, error)
}

var _ Blobs = (*store.Layout)(nil)

// Verify checks a decoded record's integrity: the image is pinned, the
// system id recomputes, and the input, the model, the config and every
// component exist in the store and hash to their digests (a replay gives
// each to the system). A model, config or component that is a tree is
// checked file by file (store Verify): a file missing or changed is a
// problem naming its path in the tree. The eval suite is checked when
// present in the store. It returns every problem found (nil when all hold);
// all are of kind record.Integrity.
func Verify(ctx context.Context, blobs Verifier, rec *record.Record) []record.Problem {
	probs := rec.Integrity()
	check := func(field string, d digest.Digest, required bool) {
		if d.IsZero() {
			return
		}
		if _, err := blobs.Verify(ctx, d); err != nil {
			switch {
			case errors.Is(err, store.ErrNotFound):
				if required {
					probs = append(probs, record.Problem{Field: field, Kind: record.Integrity, Message: fmt.Sprintf("blob %s is not in the store", d)})
				}
			case errors.Is(err, store.ErrCorrupt):
				probs = append(probs, record.Problem{Field: field, Kind: record.Integrity, Message: err.Error()})
			default:
				probs = append(probs, record.Problem{Field: field, Kind: record.Integrity, Message: fmt.Sprintf("blob %s: %v", d, err)})
			}
		}
	}
	check("input.digest", rec.Input.Digest, true)
	check("system.model.digest", rec.System.Model.Digest, true)
	check("system.config.digest", rec.System.Config.Digest, true)
	for _, name := range slices.Sorted(maps.Keys(rec.System.Components)) {
		check("system.components."+name, rec.System.Components[name], true)
	}
	check("eval_suite", rec.EvalSuite, false)
	if rec.Reference != nil {
		check("reference.digest", rec.Reference.Digest, true)
	}
	return probs
}

// Checked is one record file's verification (VerifyAll).
type Checked struct {
	// Source names the record (its path).
	Source string
	// Record is nil when the file could not be opened or decoded: its
	// problems then say why (Malformed).
	Record *record.Record
	// Problems are every problem found; none when the record holds.
	Problems []record.Problem
}

// Malformed reports whether the record could not be read at all.
func (c Checked) Malformed() bool { return c.Record == nil }

// VerifyAll loads and verifies each record of sources in turn (Verify,
// which includes the record's own checks) and calls yield with each result.
// It stops when yield returns false, and returns ctx's error when ctx is
// cancelled before a record.
func VerifyAll(ctx context.Context, blobs Verifier, sources iter.Seq[Source], yield func(Checked) bool) error {
	for src := range sources {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !yield(verifySource(ctx, blobs, src)) {
			return nil
		}
	}
	return nil
}

// verifySource loads and verifies one record.
func verifySource(ctx context.Context, blobs Verifier, src Source) Checked {
	c := Checked{Source: src.Name}
	rec, err := src.Load()
	var rerr *record.Error
	switch {
	case rec != nil:
		c.Record, c.Problems = rec, Verify(ctx, blobs, rec)
	case errors.As(err, &rerr):
		c.Problems = rerr.Problems
	case err != nil:
		c.Problems = []record.Problem{{Message: err.Error()}}
	}
	return c
}
