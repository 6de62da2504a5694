package evals

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/verdict"
)

// CheckMode says whether a replay also replays the record's pinned eval
// suite (the eval check).
type CheckMode string

const (
	// CheckAuto (the default): replay the pinned suite when the record pins
	// one and the store holds a run of the record's system on it; skip it
	// otherwise, with a note.
	CheckAuto CheckMode = "auto"
	// CheckOn: the eval check is required; a record that pins no suite, or
	// whose system has no stored run on it, is an error wrapping
	// ErrCheckRequired.
	CheckOn CheckMode = "on"
	// CheckOff: never replay the suite.
	CheckOff CheckMode = "off"
)

// ErrCheckRequired: the eval check was required (CheckOn) and cannot be
// made (no suite pinned, no stored run of the system on it).
var ErrCheckRequired = errors.New("the eval check is required (--evals on)")

// ErrCheckMode: a CheckMode that is not auto, on or off.
var ErrCheckMode = errors.New("invalid eval check mode")

// ParseCheckMode parses auto, on or off.
func ParseCheckMode(s string) (CheckMode, error) {
	switch m := CheckMode(s); m {
	case CheckAuto, CheckOn, CheckOff:
		return m, nil
	}
	return "", fmt.Errorf("%w: --evals must be auto, on or off, got %q", ErrCheckMode, s)
}

// CheckStore is what the eval check needs of the store: it reads the suite
// and the stored runs and writes the new run.
type CheckStore interface {
	Lister
	store.Writer
}

// CheckOptions configure the eval check of a record.
type CheckOptions struct {
	// Mode is CheckAuto when empty; with Store nil the suite is never run.
	Mode  CheckMode
	Store CheckStore
	// Margin is the equivalence margin of the mean score (default
	// DefaultEvalMargin).
	Margin float64
	// RunSeed is the new run's seed (nil: the baseline's seed + 1).
	RunSeed *int64
	Logger  *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// PrepareCheck finds what the eval check of rec needs, before any session
// starts: nil means no check for this record (the notes say why when it was
// skipped). Errors wrap ErrCheckRequired (CheckOn and nothing to check) or,
// for a suite or stored run that cannot be read verified,
// record.ErrIntegrity.
func PrepareCheck(ctx context.Context, rec *record.Record, o CheckOptions) (*Pinned, []string, error) {
	mode := o.Mode
	if mode == "" {
		mode = CheckAuto
	}
	if mode == CheckOff || o.Store == nil {
		return nil, nil, nil
	}
	if rec.EvalSuite.IsZero() {
		if mode == CheckOn {
			return nil, nil, fmt.Errorf("%w: record %s pins no eval suite (eval_suite)", ErrCheckRequired, rec.RequestID)
		}
		return nil, nil, nil
	}
	p, err := FindBaseline(ctx, o.Store, rec.EvalSuite, rec.System.ID)
	missing := errors.Is(err, ErrNoBaseline) || errors.Is(err, store.ErrNotFound)
	switch {
	case err == nil:
		return p, nil, nil
	case mode == CheckAuto && missing:
		return nil, []string{fmt.Sprintf("the eval check was skipped (--evals auto): %v", err)}, nil
	case missing:
		return nil, nil, fmt.Errorf("%w: %w", ErrCheckRequired, err)
	case errors.Is(err, store.ErrCorrupt) || errors.Is(err, ErrSuite) || errors.Is(err, ErrResults):
		return nil, nil, fmt.Errorf("%w: eval suite %s: %w", record.ErrIntegrity, rec.EvalSuite, err)
	}
	return nil, nil, err
}

// Checker is the pinned eval suite as a replay's system check (it
// implements replay.SystemChecker; cmd wires it in).
type Checker struct{ Options CheckOptions }

// Prepare finds the record's pinned suite and stored baseline
// (PrepareCheck) and returns how to run it on the replay's session.
func (k Checker) Prepare(ctx context.Context, rec *record.Record) (func(context.Context, *launch.Session, verdict.Rules) (verdict.SystemCheck, error), []string, error) {
	p, notes, err := PrepareCheck(ctx, rec, k.Options)
	if err != nil || p == nil {
		return nil, notes, err
	}
	return func(ctx context.Context, sess *launch.Session, rules verdict.Rules) (verdict.SystemCheck, error) {
		return RunCheck(ctx, p, sess, rec, rules.Alpha, k.Options)
	}, notes, nil
}

// RunCheck runs the pinned suite on sess (a session of rec's system) and
// returns it as a check of the record's verdict. alpha is the record's
// alpha (the reproduction is compared at it, capped below 0.5; the verdict
// asks again at the check's share).
func RunCheck(ctx context.Context, p *Pinned, sess Session, rec *record.Record, alpha float64, o CheckOptions) (*Check, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	t0 := o.Now()
	r, err := p.Reproduce(ctx, sess, o.Store, ReproduceOptions{System: rec.System, Protocol: rec.Runtime.Protocol, HardwareClass: rec.Runtime.HardwareClass,
		RunSeed: o.RunSeed, Margin: o.Margin, Alpha: min(alpha, 0.49), Logger: o.Logger, Now: o.Now})
	if err != nil {
		return nil, err
	}
	return &Check{r: r, margin: r.Comparison.Margin, ms: float64(o.Now().Sub(t0).Microseconds()) / 1000}, nil
}

// Check is the eval suite's reproduction as one check of a record's
// verdict (a verdict.SystemCheck): it supports the record when the TOST
// shows the mean score equivalent within the margin, rejects it when the
// interval of the difference lies outside the margin, and is undecided
// otherwise. Its level is its share of the record's alpha (Bonferroni,
// like every check). The suite runs once, before the replay's runs, so its
// evidence is fixed: asking it again after every batch of a sequential
// replay gives the same answer and adds no false alarms; and an exact match
// of the pinned seed does not overrule it.
type Check struct {
	r      *Reproduction
	margin float64
	ms     float64
	// last is the finding at level lastAlpha (a sequential replay asks
	// after every batch at the same level; the bootstrap is not redone).
	last      *verdict.Finding
	lastAlpha float64
}

var _ verdict.SystemCheck = (*Check)(nil)

// Applies always: the check exists only when the suite was run.
func (c *Check) Applies(output.Output) bool { return true }

// Run implements verdict.Check.
func (c *Check) Run(_ output.Output, _ []output.Output, r verdict.Rules) (verdict.Finding, error) {
	alpha := min(r.Alpha, 0.49)
	if c.last != nil && c.lastAlpha == alpha {
		return *c.last, nil
	}
	cmp, err := c.r.Compare(c.margin, alpha)
	if err != nil {
		return verdict.Finding{}, err
	}
	name := fmt.Sprintf("eval suite %s %s", c.r.SuiteName, c.r.SuiteVersion)
	conf := 1 - 2*alpha
	rejected := c.r.Verdict == verdict.Diverged
	f := verdict.Finding{Test: verdict.TestResult{
		Name:      name,
		Method:    fmt.Sprintf("paired TOST of the mean score, margin ±%g, over %d items (%s p = %.4g)", cmp.Margin, cmp.Items, cmp.Test, cmp.PValue),
		Statistic: &cmp.Diff, PValue: cmp.TOSTP, N: &cmp.Items,
		Interval: &verdict.Interval{Lower: *cmp.EqLower, Upper: *cmp.EqUpper, Conf: conf, Method: "paired t"},
		Rejected: &rejected,
	}}
	head := fmt.Sprintf("%s: mean score %.4f replayed vs %.4f stored (run %s), difference %+.4f, %.4g interval [%.4f, %.4f]",
		name, cmp.MeanB, cmp.MeanA, c.r.Baseline, cmp.Diff, conf, *cmp.EqLower, *cmp.EqUpper)
	switch c.r.Verdict {
	case verdict.Reproduced:
		f.Outcome = verdict.Supports
		f.Reasons = []string{fmt.Sprintf("%s inside ±%g: the eval score reproduces (TOST p = %.4g < level %.4g)", head, cmp.Margin, *cmp.TOSTP, alpha)}
	case verdict.Diverged:
		f.Outcome = verdict.Rejects
		f.Reasons = []string{fmt.Sprintf("%s outside ±%g: the eval score diverged (%d items flipped)", head, cmp.Margin, len(cmp.Flipped))}
	default:
		f.Outcome = verdict.Undecided
		f.Reasons = []string{fmt.Sprintf("%s overlaps ±%g without lying inside it: the eval check is inconclusive; more replay runs cannot settle it, more epochs in the stored run (evals run -k) or a wider --eval-margin can", head, cmp.Margin)}
		// No number of replay runs can make it support the stored
		// output: a sequential replay stops once the other checks can no
		// longer reject (verdict.Decide's futility rule).
		f.Underpowered = "the eval suite's result is fixed before the replay's runs; more runs cannot settle it"
		f.RunsNeededLow = math.MaxInt32
	}
	c.last, c.lastAlpha = &f, alpha
	return f, nil
}

// RunSequential implements verdict.SequentialCheck: the evidence is fixed.
func (c *Check) RunSequential(s output.Output, outs []output.Output, r verdict.Rules) (verdict.Finding, error) {
	return c.Run(s, outs, r)
}

// Holds implements verdict.SystemCheck.
func (c *Check) Holds(f verdict.Finding) string {
	if f.Outcome == verdict.Rejects {
		return "the eval suite diverged"
	}
	return "the eval check is inconclusive"
}

// Requests is the number of requests the suite sent on the session.
func (c *Check) Requests() int { return c.r.Requests }

// Reproduction is the suite's run again and its last comparison.
func (c *Check) Reproduction() *Reproduction { return c.r }

// Section implements verdict.SystemCheck: the report's eval section.
func (c *Check) Section() *verdict.EvalSection {
	r, cmp := c.r, c.r.Comparison
	flipped := make([]verdict.EvalFlip, len(cmp.Flipped))
	for i, f := range cmp.Flipped {
		flipped[i] = verdict.EvalFlip(f)
	}
	return &verdict.EvalSection{Suite: r.Suite.String(), SuiteName: r.SuiteName, SuiteVersion: r.SuiteVersion,
		BaselineRun: r.Baseline.String(), Run: r.Run.String(), RunSeed: r.RunSeed, Epochs: r.Epochs, Items: cmp.Items,
		MeanBaseline: cmp.MeanA, MeanReplay: cmp.MeanB, Diff: cmp.Diff, Lower: *cmp.EqLower, Upper: *cmp.EqUpper,
		Margin: cmp.Margin, Level: cmp.Alpha, TOSTP: *cmp.TOSTP, Test: cmp.Test, PValue: cmp.PValue, Flipped: flipped,
		Verdict: r.Verdict, Warnings: cmp.Warnings, RunsMS: c.ms}
}
