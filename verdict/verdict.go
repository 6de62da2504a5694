package verdict

import (
	"errors"
	"fmt"
	"slices"
	"strings"

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
	// Alpha bounds the false-alarm rate: the probability that an honest
	// record is called DIVERGED, all checks together. Evaluate gives each of
	// the c applicable checks the level Alpha/c; a Check sees its own level
	// in Rules.Alpha.
	Alpha float64 `json:"alpha"`
	// Conf is the confidence level of the intervals (e.g. 0.95).
	Conf float64 `json:"conf"`
	// Margin is the equivalence margin of the reference checks: the largest
	// distance (total variation for labels, Kolmogorov for scores, MMD²
	// with the 3-gram spectrum kernel for texts) between
	// the replayed and the reference distributions still called the same.
	Margin float64 `json:"margin"`
}

// DefaultRules are the defaults of every rule: the one place they are written.
func DefaultRules() Rules { return Rules{MinFrequency: 0.01, Alpha: 0.01, Conf: 0.95, Margin: 0.2} }

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
	if r.Margin == 0 {
		r.Margin = d.Margin
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
	case !(r.Margin > 0 && r.Margin < 1):
		return fmt.Errorf("%w: margin must be in (0, 1), got %g", ErrRules, r.Margin)
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
	// Level is the check's share of alpha (alpha / applicable checks).
	Level *float64 `json:"level,omitempty"`
	// Underpowered says why the check could not have rejected at its level
	// with the replays it had; RunsNeeded is how many runs would let it.
	Underpowered string `json:"underpowered,omitempty"`
	RunsNeeded   int    `json:"runs_needed,omitempty"`
	// RunsNeededLow is the fewest runs that could plausibly give it the
	// power (from a 99% upper confidence bound on the share of useful runs).
	RunsNeededLow int `json:"runs_needed_low,omitempty"`
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
	// Unpowered: not rejected, but the check could not have rejected at its
	// level with the replays it had; it blocks REPRODUCED (behavioral).
	Unpowered
	// Neutral: the check's evidence does not bear on the stored output
	// (the seed probe of a system that does not honour seeds); it keeps
	// its share of alpha and neither supports, rejects nor blocks.
	Neutral
)

// Finding is the result of one check.
type Finding struct {
	Test    TestResult
	Outcome Outcome
	Reasons []string
	// Counts is the replayed outputs' distribution over the check's
	// categories, when it has one (label counts).
	Counts map[string]int
	// Underpowered, when not empty, says why the check could not have
	// rejected at its level; RunsNeeded is the number of runs that would let
	// it (0: unknown); RunsNeededLow is the fewest runs that could plausibly
	// do (0: RunsNeeded). All are copied to Test.
	Underpowered  string
	RunsNeeded    int
	RunsNeededLow int
	// RejectLow, for a sequential check that has not rejected, is the
	// fewest runs after which it could still plausibly reject (0: it
	// cannot reject any more; see Evaluation.RejectLow).
	RejectLow int
}

// Check is one kind of evidence about a stored output.
type Check interface {
	// Applies reports whether the check tests this stored output.
	Applies(stored output.Output) bool
	// Run tests the stored output against the replayed outputs (at least one).
	Run(stored output.Output, outs []output.Output, rules Rules) (Finding, error)
}

// Checks are the checks Evaluate runs, in report order.
var Checks = []Check{LabelFrequency{}, TextConformal{}, ScoreRank{}}

// Evaluation is the tests and verdict of one replay.
type Evaluation struct {
	Tests       []TestResult   `json:"tests"`
	LabelCounts map[string]int `json:"label_counts,omitempty"`
	Verdict     Verdict        `json:"verdict"`
	// Basis says how REPRODUCED was reached, "exact" or "behavioral", and
	// is "exact" for a DIVERGED on the seed probe (SeedProbe).
	Basis   string   `json:"basis,omitempty"`
	Reasons []string `json:"reasons"`
	// Underpowered names the checks that had too few runs to decide at
	// their level (to reject, or to support); RunsNeeded is the number of runs that would give each of them
	// the power (0: unknown or not needed).
	Underpowered []string `json:"underpowered,omitempty"`
	RunsNeeded   int      `json:"runs_needed,omitempty"`
	// RunsNeededLow is the fewest runs that could plausibly give every
	// underpowered check its power: a sequential replay whose cap is below
	// it stops at once (INCONCLUSIVE), since the cap cannot settle it.
	RunsNeededLow int `json:"runs_needed_low,omitempty"`
	// RejectLow is the fewest runs after which some check could still
	// plausibly reject (0: none can any more). A sequential replay stops
	// for futility only when neither REPRODUCED (RunsNeededLow) nor
	// DIVERGED (RejectLow) can come within its cap.
	RejectLow int `json:"-"`
}

// Evaluate runs the checks that apply to stored against the replayed
// outputs and combines them (see the package documentation). exact is the
// pinned-seed comparison (nil when the record has no seed). extra are
// checks run after Checks (e.g. ReferenceChecks); they share alpha too.
func Evaluate(stored output.Output, outs []output.Output, exact *bool, rules Rules, extra ...Check) (*Evaluation, error) {
	rules = rules.WithDefaults()
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	if len(outs) == 0 {
		return nil, ErrNoRuns
	}
	return evaluate(stored, outs, exact, rules, append(slices.Clip(Checks), extra...), func(c Check, s output.Output, o []output.Output, r Rules) (Finding, error) {
		return c.Run(s, o, r)
	})
}

// SystemCheck is a check of the replayed system rather than of this
// decision's outputs: the record's pinned eval suite, run on the replay's
// session before its runs. Its evidence is fixed before the runs, so it is
// asked at every look of a sequential replay at no extra false-alarm cost,
// and an exact match of the pinned seed does not overrule it: the decision
// came back, but a record is REPRODUCED only when its system also still
// behaves as recorded (DIVERGED when the check rejects, INCONCLUSIVE when
// it does not settle). It shares alpha with the other checks.
type SystemCheck interface {
	SequentialCheck
	// Holds says, for a finding that rejects or does not settle, what it
	// found of the system ("the eval suite diverged"); the reasons quote it
	// when it keeps an exact match from REPRODUCED.
	Holds(f Finding) string
	// Requests is the number of requests it sent on the replay's session
	// before the replay's own runs.
	Requests() int
	// Section is its evidence for the report, as of its last finding.
	Section() *EvalSection
}

// evaluate runs each applicable check through run at level Alpha/c and
// combines the findings.
func evaluate(stored output.Output, outs []output.Output, exact *bool, rules Rules, checks []Check, run func(Check, output.Output, []output.Output, Rules) (Finding, error)) (*Evaluation, error) {
	ev := &Evaluation{Tests: []TestResult{}, Reasons: []string{}}
	applicable := applicableChecks(checks, stored, exact)
	level := rules
	if len(applicable) > 0 {
		level.Alpha = rules.Alpha / float64(len(applicable))
	}
	var t tally
	for _, c := range applicable {
		f, err := run(c, stored, outs, level)
		if err != nil {
			return nil, err
		}
		t.add(ev, c, f, level.Alpha)
	}
	held := t.decide(ev, exact, rules.Alpha, len(applicable))
	switch {
	case exact != nil && *exact:
		ev.Reasons = append([]string{"the pinned seed reproduced the stored output exactly"}, ev.Reasons...)
	case exact != nil:
		ev.Reasons = append([]string{"the pinned seed did not reproduce the stored output exactly"}, ev.Reasons...)
	}
	if len(applicable) > 1 {
		ev.Reasons = append(ev.Reasons, fmt.Sprintf("false-alarm rate: alpha %g over %d checks, each at level %.4g (Bonferroni)", rules.Alpha, len(applicable), level.Alpha))
	}
	if held != "" {
		ev.Reasons = append(ev.Reasons, held)
	}
	return ev, nil
}

// CheckCount is how many checks Evaluate splits alpha over for stored
// with extra, before any pinned-seed mismatch (so without the seed probe).
func CheckCount(stored output.Output, extra ...Check) int {
	return len(applicableChecks(append(slices.Clip(Checks), extra...), stored, nil))
}

// applicableChecks are the checks that apply to stored; the seed probe
// only after a pinned seed that did not reproduce it.
func applicableChecks(checks []Check, stored output.Output, exact *bool) []Check {
	var applicable []Check
	for _, c := range checks {
		if _, ok := c.(SeedProbe); ok && (exact == nil || *exact) {
			continue // a probe follows a mismatch only
		}
		if c.Applies(stored) {
			applicable = append(applicable, c)
		}
	}
	return applicable
}

// tally counts the findings of an evaluation by outcome.
type tally struct {
	supports, rejects, undecided, unpowered int
	seedDiverged                            bool     // the seed probe rejects: DIVERGED, basis exact
	sysRejects, sysOpen                     []string // what the system checks found (SystemCheck.Holds)
}

// add counts f, the finding of c at level alpha, and records its test,
// reasons, power and label counts in ev.
func (t *tally) add(ev *Evaluation, c Check, f Finding, alpha float64) {
	if _, ok := c.(SeedProbe); ok && f.Outcome == Rejects {
		t.seedDiverged = true
	}
	if sc, ok := c.(SystemCheck); ok {
		switch f.Outcome {
		case Rejects:
			t.sysRejects = append(t.sysRejects, sc.Holds(f))
		case Undecided, Unpowered:
			t.sysOpen = append(t.sysOpen, sc.Holds(f))
		}
	}
	f.Test.Level = ptr(alpha)
	if f.Outcome == Skipped && f.Underpowered == "" {
		f.Underpowered = "skipped: " + f.Test.Skipped
	}
	if f.Outcome != Rejects && f.Underpowered != "" {
		if f.RunsNeededLow == 0 {
			f.RunsNeededLow = f.RunsNeeded
		}
		f.Test.Underpowered, f.Test.RunsNeeded, f.Test.RunsNeededLow = f.Underpowered, f.RunsNeeded, f.RunsNeededLow
		ev.Underpowered = append(ev.Underpowered, f.Test.Name)
		ev.RunsNeeded = max(ev.RunsNeeded, f.RunsNeeded)
		ev.RunsNeededLow = max(ev.RunsNeededLow, f.RunsNeededLow)
	}
	if f.Outcome != Rejects && f.RejectLow > 0 && (ev.RejectLow == 0 || f.RejectLow < ev.RejectLow) {
		ev.RejectLow = f.RejectLow
	}
	ev.Tests = append(ev.Tests, f.Test)
	ev.Reasons = append(ev.Reasons, f.Reasons...)
	if f.Counts != nil {
		ev.LabelCounts = f.Counts
	}
	switch f.Outcome {
	case Supports:
		t.supports++
	case Rejects:
		t.rejects++
	case Undecided:
		t.undecided++
	case Unpowered, Skipped:
		t.unpowered++
	}
}

// decide sets ev's verdict and basis from the tally of n checks (alpha in
// all) and the pinned-seed comparison exact. It returns why a system check
// keeps an exact match from REPRODUCED ("" when none does).
func (t *tally) decide(ev *Evaluation, exact *bool, alpha float64, n int) (held string) {
	switch {
	case exact != nil && *exact && len(t.sysRejects) > 0:
		ev.Verdict = Diverged
		held = fmt.Sprintf("the decision reproduced, but %s: the record is DIVERGED", strings.Join(t.sysRejects, " and "))
	case exact != nil && *exact && len(t.sysOpen) > 0:
		ev.Verdict = Inconclusive
		held = fmt.Sprintf("the decision reproduced, but %s: the record is INCONCLUSIVE", strings.Join(t.sysOpen, " and "))
	case exact != nil && *exact:
		ev.Verdict, ev.Basis = Reproduced, "exact"
	case t.seedDiverged:
		ev.Verdict, ev.Basis = Diverged, "exact"
	case t.rejects > 0:
		ev.Verdict = Diverged
	case t.supports > 0 && t.undecided == 0 && t.unpowered == 0:
		ev.Verdict, ev.Basis = Reproduced, "behavioral"
	default:
		ev.Verdict = Inconclusive
		if t.unpowered > 0 {
			need := "more runs"
			if ev.RunsNeeded > 0 {
				need = fmt.Sprintf("about %d runs", ev.RunsNeeded)
			}
			ev.Reasons = append(ev.Reasons, fmt.Sprintf("no verdict without power: %s had too few runs to decide at alpha %g (split over %d checks); %s would settle it",
				strings.Join(ev.Underpowered, ", "), alpha, n, need))
		}
	}
	return held
}

func ptr[T any](v T) *T { return &v }
