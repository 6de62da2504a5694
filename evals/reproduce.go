package evals

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/system"
	"github.com/reprise-dev/reprise/verdict"
)

// DefaultEvalMargin is the default equivalence margin of the mean score
// when a pinned suite is replayed (--eval-margin).
const DefaultEvalMargin = 0.02

// ErrNoBaseline: the store holds no run of the system on the pinned suite,
// so there is nothing to reproduce (the message names the command that
// makes one).
var ErrNoBaseline = errors.New("no stored eval run to reproduce")

// NoBaselineError says which system and suite lack a stored run.
type NoBaselineError struct {
	Suite        digest.Digest
	SuiteName    string
	SuiteVersion string
	System       digest.Digest
}

func (e *NoBaselineError) Error() string {
	return fmt.Sprintf("the store holds no run of system %s on eval suite %s %s (%s): run 'reprise evals run --suite %s --system SYSTEM' first (SYSTEM: the record or a system file of it)",
		e.System, e.SuiteName, e.SuiteVersion, e.Suite, e.Suite)
}

// Unwrap returns ErrNoBaseline.
func (e *NoBaselineError) Unwrap() error { return ErrNoBaseline }

// Pinned is a pinned suite with the stored run of one system on it that a
// replay reproduces (the baseline).
type Pinned struct {
	Suite    *Suite
	Baseline HistoryEntry
	Rows     []Row
}

// FindBaseline loads suite (verified) and the baseline run of system sys on
// it: the earliest stored run that is not itself a reproduction's
// (RunManifest.Replays is zero). No such run gives a *NoBaselineError
// (ErrNoBaseline); a suite absent from the store an error wrapping
// store.ErrNotFound.
func FindBaseline(ctx context.Context, st Lister, suite, sys digest.Digest) (*Pinned, error) {
	su, err := Load(ctx, st, suite)
	if err != nil {
		return nil, err
	}
	h, err := History(ctx, st, su.Digest, sys)
	if err != nil {
		return nil, err
	}
	for _, e := range h {
		if !e.Replays.IsZero() {
			continue
		}
		rows, err := LoadRows(ctx, st, e.RunManifest)
		if err != nil {
			return nil, err
		}
		return &Pinned{Suite: su, Baseline: e, Rows: rows}, nil
	}
	return nil, &NoBaselineError{Suite: su.Digest, SuiteName: su.Spec.Name, SuiteVersion: su.Spec.Version, System: sys}
}

// ReproduceOptions configure Pinned.Reproduce.
type ReproduceOptions struct {
	// System, Protocol and HardwareClass describe the system run (they go
	// into the new run's manifest); System.ID must be the baseline's.
	System        system.System
	Protocol      string
	HardwareClass string
	// RunSeed is the new run's seed; nil means the baseline's seed + 1
	// (fresh item seeds, so the comparison is between two draws).
	RunSeed *int64
	// Margin (default DefaultEvalMargin) and Alpha (default 0.05) of the
	// TOST on the mean score.
	Margin float64
	Alpha  float64
	Logger *slog.Logger
	// Now is the clock of the new run's Created (default time.Now).
	Now func() time.Time
}

// Reproduction is a pinned suite run again and compared with its baseline.
type Reproduction struct {
	SuiteRef
	System digest.Digest `json:"system"`
	// Baseline is the stored run reproduced; Run the new run (stored, with
	// Replays set to Baseline).
	Baseline digest.Digest `json:"baseline_run"`
	Run      digest.Digest `json:"run"`
	RunSeed  int64         `json:"run_seed"`
	Epochs   int           `json:"epochs"`
	// Requests is the number of requests the new run sent to the session.
	Requests   int         `json:"requests"`
	Comparison *Comparison `json:"comparison"`
	// Verdict is EvalVerdict of Comparison.
	Verdict verdict.Verdict `json:"verdict"`

	baseline, replayed *RunManifest
	baseRows, rows     []Row
}

// Reproduce runs every item of the pinned suite through sess with the
// baseline's epochs and parameters and a new run seed, stores the new run
// (marked as reproducing the baseline, so it is never a baseline itself),
// and compares it with the baseline, paired per item (Compare with a
// margin): REPRODUCED, DIVERGED or INCONCLUSIVE as EvalVerdict says. An
// error of the session stops it (nothing is stored).
func (p *Pinned) Reproduce(ctx context.Context, sess Session, w store.Writer, o ReproduceOptions) (*Reproduction, error) {
	b := p.Baseline
	if o.System.ID != b.System.ID {
		return nil, fmt.Errorf("eval suite %s: the system run is %s, the baseline's is %s", p.Suite.Digest, o.System.ID, b.System.ID)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	seed := b.RunSeed + 1
	if o.RunSeed != nil {
		seed = *o.RunSeed
	}
	m := NewRun(p.Suite, launch.Target{System: o.System, Protocol: o.Protocol, HardwareClass: o.HardwareClass}, b.Params, seed, b.Epochs)
	m.Replays = b.Run
	ro := m.Options()
	ro.Logger = o.Logger
	rows, err := Run(ctx, sess, p.Suite, o.System.ID, ro)
	if err != nil {
		return nil, fmt.Errorf("eval suite %s %s: %w", p.Suite.Spec.Name, p.Suite.Spec.Version, err)
	}
	m.Ran = len(p.Suite.Items)
	d, err := m.Finish(ctx, w, p.Suite, rows, b.Summary.Conf, o.Now())
	if err != nil {
		return nil, err
	}
	r := &Reproduction{SuiteRef: p.Suite.Ref(), System: o.System.ID,
		Baseline: b.Run, Run: d, RunSeed: seed, Epochs: b.Epochs, Requests: len(rows),
		baseline: b.RunManifest, replayed: m, baseRows: p.Rows, rows: rows}
	if _, err := r.Compare(o.Margin, o.Alpha); err != nil {
		return nil, err
	}
	return r, nil
}

// Compare (re)compares the new run with the baseline with the TOST at
// level alpha and the given margin (0: the defaults), and sets Comparison
// and Verdict. A replay calls it with its share of the record's alpha.
func (r *Reproduction) Compare(margin, alpha float64) (*Comparison, error) {
	if margin == 0 {
		margin = DefaultEvalMargin
	}
	if alpha == 0 {
		alpha = 0.05
	}
	if !(margin > 0 && margin < 1) || !(alpha > 0 && alpha < 0.5) {
		return nil, fmt.Errorf("eval margin must be in (0, 1) and alpha in (0, 0.5), got %g and %g", margin, alpha)
	}
	c, err := Compare(r.Baseline, r.Run, r.baseline, r.replayed, r.baseRows, r.rows, CompareOptions{Margin: margin, Alpha: alpha, Seed: uint64(r.RunSeed)})
	if err != nil {
		return nil, err
	}
	r.Comparison, r.Verdict = c, EvalVerdict(c)
	return c, nil
}
