// Package verdict turns replayed outputs into a verdict on a stored output.
//
// Each kind of evidence is a Check (the stored label's frequency among the
// replays, the stored text's frequency for text-only outputs, the stored
// score's rank among replays with the same label). What the stored output
// holds picks the checks that apply: a new kind of output adds a Check, not
// a branch. Rules holds every threshold, with its defaults written once
// (DefaultRules). Evaluate runs the applicable checks and combines their
// findings:
//
//   - REPRODUCED (exact) when the pinned seed gave back the stored output;
//   - DIVERGED when any check rejects the stored output;
//   - REPRODUCED (behavioral) when at least one check supports it and none
//     is undecided;
//   - INCONCLUSIVE otherwise.
//
// It imports output and stats only.
package verdict

import (
	"errors"
	"fmt"

	"github.com/reprise-dev/reprise/output"
)

// Verdict is the outcome of one record's replay.
type Verdict string

const (
	Reproduced   Verdict = "REPRODUCED"
	Diverged     Verdict = "DIVERGED"
	Inconclusive Verdict = "INCONCLUSIVE"
	// Failed: the replay could not be completed (integrity, environment).
	Failed Verdict = "ERROR"
)

// Rules are the verdict thresholds.
type Rules struct {
	// MinFrequency: the stored label is reproduced when its replay frequency's
	// lower confidence bound is at least this; diverged when the upper bound
	// is below it.
	MinFrequency float64 `json:"min_frequency"`
	// Alpha: the score test rejects when its p-value is below Alpha.
	Alpha float64 `json:"alpha"`
	// Conf is the confidence level of the intervals (e.g. 0.95).
	Conf float64 `json:"conf"`
}

// DefaultRules are the defaults of every rule: the one place they are written.
func DefaultRules() Rules { return Rules{MinFrequency: 0.01, Alpha: 0.05, Conf: 0.95} }

// WithDefaults returns r with each zero field set to its default.
func (r Rules) WithDefaults() Rules {
	d := DefaultRules()
	if r.MinFrequency == 0 {
		r.MinFrequency = d.MinFrequency
	}
	if r.Alpha == 0 {
		r.Alpha = d.Alpha
	}
	if r.Conf == 0 {
		r.Conf = d.Conf
	}
	return r
}

// Validate reports the first rule outside its range.
func (r Rules) Validate() error {
	switch {
	case !(r.MinFrequency > 0 && r.MinFrequency < 1):
		return fmt.Errorf("%w: min frequency must be in (0, 1), got %g", ErrRules, r.MinFrequency)
	case !(r.Alpha > 0 && r.Alpha < 1):
		return fmt.Errorf("%w: alpha must be in (0, 1), got %g", ErrRules, r.Alpha)
	case !(r.Conf > 0 && r.Conf < 1):
		return fmt.Errorf("%w: confidence level must be in (0, 1), got %g", ErrRules, r.Conf)
	}
	return nil
}

// Errors of this package.
var (
	// ErrNoRuns: there are no replayed outputs to test.
	ErrNoRuns = errors.New("no replay runs to test")
	// ErrRules: a rule is out of range.
	ErrRules = errors.New("invalid verdict rules")
)

// Interval is a confidence interval for a proportion.
type Interval struct {
	Lower  float64 `json:"lower"`
	Upper  float64 `json:"upper"`
	Conf   float64 `json:"conf"`
	Method string  `json:"method"`
}

// TestResult is one statistical test in a report.
type TestResult struct {
	Name      string   `json:"name"`
	Method    string   `json:"method"`
	Statistic *float64 `json:"statistic"`
	PValue    *float64 `json:"p_value"`
	// Successes and Trials for frequency tests; N is the sample size of the
	// reference distribution for rank tests.
	Successes *int      `json:"successes,omitempty"`
	Trials    *int      `json:"trials,omitempty"`
	N         *int      `json:"n,omitempty"`
	Interval  *Interval `json:"interval,omitempty"`
	Wilson    *Interval `json:"wilson,omitempty"`
	Skipped   string    `json:"skipped,omitempty"`
	Rejected  *bool     `json:"rejected,omitempty"`
}

// Outcome is what one check says of the stored output.
type Outcome int

const (
	// Skipped: the check applied but had nothing to test (e.g. no replay
	// with the stored label produced a score); it neither supports nor rejects.
	Skipped Outcome = iota
	// Supports: the evidence is consistent with the stored output.
	Supports
	// Rejects: the stored output is not a plausible replay output.
	Rejects
	// Undecided: the evidence does not settle it yet.
	Undecided
)

// Finding is the result of one check.
type Finding struct {
	Test    TestResult
	Outcome Outcome
	Reasons []string
	// Counts is the replayed outputs' distribution over the check's
	// categories, when it has one (label counts).
	Counts map[string]int
}

// Check is one kind of evidence about a stored output.
type Check interface {
	// Applies reports whether the check tests this stored output.
	Applies(stored output.Output) bool
	// Run tests the stored output against the replayed outputs (at least one).
	Run(stored output.Output, outs []output.Output, rules Rules) (Finding, error)
}

// Checks are the checks Evaluate runs, in report order.
var Checks = []Check{LabelFrequency{}, TextExactRate{}, TextConformal{}, ScoreRank{}}

// Evaluation is the tests and verdict of one replay.
type Evaluation struct {
	Tests       []TestResult   `json:"tests"`
	LabelCounts map[string]int `json:"label_counts,omitempty"`
	Verdict     Verdict        `json:"verdict"`
	// Basis says how REPRODUCED was reached: "exact" or "behavioral".
	Basis   string   `json:"basis,omitempty"`
	Reasons []string `json:"reasons"`
}

// Evaluate runs the checks that apply to stored against the replayed
// outputs and combines them (see the package documentation). exact is the
// pinned-seed comparison (nil when the record has no seed).
func Evaluate(stored output.Output, outs []output.Output, exact *bool, rules Rules) (*Evaluation, error) {
	rules = rules.WithDefaults()
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	if len(outs) == 0 {
		return nil, ErrNoRuns
	}
	ev := &Evaluation{Tests: []TestResult{}, Reasons: []string{}}
	var supports, rejects, undecided int
	for _, c := range Checks {
		if !c.Applies(stored) {
			continue
		}
		f, err := c.Run(stored, outs, rules)
		if err != nil {
			return nil, err
		}
		ev.Tests = append(ev.Tests, f.Test)
		ev.Reasons = append(ev.Reasons, f.Reasons...)
		if f.Counts != nil {
			ev.LabelCounts = f.Counts
		}
		switch f.Outcome {
		case Supports:
			supports++
		case Rejects:
			rejects++
		case Undecided:
			undecided++
		}
	}
	switch {
	case exact != nil && *exact:
		ev.Verdict, ev.Basis = Reproduced, "exact"
		ev.Reasons = append([]string{"the pinned seed reproduced the stored output exactly"}, ev.Reasons...)
	case rejects > 0:
		ev.Verdict = Diverged
	case supports > 0 && undecided == 0:
		ev.Verdict, ev.Basis = Reproduced, "behavioral"
	default:
		ev.Verdict = Inconclusive
	}
	if exact != nil && !*exact {
		ev.Reasons = append([]string{"the pinned seed did not reproduce the stored output exactly"}, ev.Reasons...)
	}
	return ev, nil
}

func ptr[T any](v T) *T { return &v }
