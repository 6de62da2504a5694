package evals

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/store"
)

// ArgError is a command-line argument that names no suite or run: Kind is
// "suite" or "results". It wraps ErrSuite (a suite) or ErrResults (a run).
type ArgError struct {
	Kind, Arg string
}

func (e *ArgError) Error() string {
	if e.Kind == "suite" {
		return fmt.Sprintf("suite %q: neither a suite digest (sha256:…) nor a folder", e.Arg)
	}
	return fmt.Sprintf("results %q: not a run digest (or a unique prefix of one)", e.Arg)
}

// Unwrap returns ErrSuite or ErrResults.
func (e *ArgError) Unwrap() error {
	if e.Kind == "suite" {
		return ErrSuite
	}
	return ErrResults
}

// ReadOnly hides a store's Writer, so that ResolveSuite does not pack.
type ReadOnly struct{ store.Reader }

// ResolveSuite reads arg as a suite digest in st (or a unique prefix of
// one, store.Resolve, when st lists its blobs), or else as a suite folder, which is packed into st when st is a store.Writer. An arg that
// is neither gives an *ArgError.
func ResolveSuite(ctx context.Context, st store.Reader, arg string) (*Suite, error) {
	if d, err := digest.Parse(arg); err == nil {
		return Load(ctx, st, d)
	}
	if l, ok := st.(store.Lister); ok && store.IsPrefix(arg) {
		d, err := store.Resolve(ctx, l, arg)
		if err != nil {
			return nil, err
		}
		return Load(ctx, st, d)
	}
	if fi, err := os.Stat(arg); err != nil || !fi.IsDir() {
		return nil, &ArgError{Kind: "suite", Arg: arg}
	}
	su, err := LoadDirContext(ctx, arg, SuiteLimits{})
	if err != nil {
		return nil, err
	}
	if w, ok := st.(store.Writer); ok {
		if _, err := Pack(ctx, w, su); err != nil {
			return nil, err
		}
	}
	return su, nil
}

// StoredRun is a run read back from the store.
type StoredRun struct {
	Run digest.Digest
	*RunManifest
	Rows []Row
}

// ResolveRun reads the run arg names: its digest, or a unique prefix of it
// of at least 12 hex digits after "sha256:". An arg that names no run gives
// an *ArgError.
func ResolveRun(ctx context.Context, st Lister, arg string) (*StoredRun, error) {
	d, err := digest.Parse(arg)
	if err != nil {
		if d, err = runByPrefix(ctx, st, arg); err != nil {
			return nil, err
		}
	}
	m, err := LoadRun(ctx, st, d)
	if err != nil {
		return nil, err
	}
	rows, err := LoadRows(ctx, st, m)
	if err != nil {
		return nil, err
	}
	return &StoredRun{Run: d, RunManifest: m, Rows: rows}, nil
}

// runByPrefix is the one stored run whose digest starts with prefix.
func runByPrefix(ctx context.Context, st Lister, prefix string) (digest.Digest, error) {
	h, err := History(ctx, st, digest.Digest{}, digest.Digest{})
	if err != nil {
		return digest.Digest{}, err
	}
	var hits []digest.Digest
	for _, e := range h {
		if s := e.Run.String(); len(prefix) >= 19 && len(prefix) < len(s) && strings.HasPrefix(s, prefix) {
			hits = append(hits, e.Run)
		}
	}
	if len(hits) != 1 {
		return digest.Digest{}, &ArgError{Kind: "results", Arg: prefix}
	}
	return hits[0], nil
}

// LatestElsewhere is the latest stored run of system sys on a suite other
// than suite, or the zero digest when there is none.
func LatestElsewhere(ctx context.Context, st Lister, suite, sys digest.Digest) (digest.Digest, error) {
	h, err := History(ctx, st, digest.Digest{}, sys)
	if err != nil {
		return digest.Digest{}, err
	}
	var found digest.Digest
	for _, e := range h {
		if e.Suite != suite {
			found = e.Run // the latest wins (history is oldest first)
		}
	}
	return found, nil
}
