package compare

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/reprise-dev/reprise/stats"
	"github.com/reprise-dev/reprise/verdict"
)

// Decision is one record of a comparison: what the journal keeps (the
// pairs, the pinned runs' decisions, an error) and what Finalize derives.
type Decision struct {
	RequestID string    `json:"request_id"`
	Timestamp time.Time `json:"timestamp"`
	// System names the system the record says decided it.
	System string `json:"system"`
	// Stored is the record's stored decision (nil: the record has none).
	Stored *string `json:"stored"`
	// PinnedA and PinnedB are the decisions at the record's own seed (nil:
	// the record pins none).
	PinnedA *string `json:"pinned_a,omitempty"`
	PinnedB *string `json:"pinned_b,omitempty"`
	// A and B count the decisions of each system's fresh-seed runs (B's
	// seeds are drawn independently of A's).
	A          []Count `json:"a"`
	B          []Count `json:"b"`
	Error      string  `json:"error,omitempty"`
	ErrorClass string  `json:"error_class,omitempty"` // "integrity", "environment", "usage"

	// Derived by Finalize.
	Runs  int    `json:"runs"`
	AMode string `json:"a_mode"`
	BMode string `json:"b_mode"`
	// Flip is true when B's modal decision is not A's.
	Flip bool `json:"flip"`
	// DiffersA is the probability that B's decision differs from A's modal
	// decision, DiffersStored that it differs from the stored one, and
	// ADiffersStored that A's does (A's own spread, for comparison); each
	// with a Clopper–Pearson interval at the comparison's Conf.
	DiffersA       Estimate  `json:"b_differs_from_a"`
	DiffersStored  *Estimate `json:"b_differs_from_stored,omitempty"`
	ADiffersStored *Estimate `json:"a_differs_from_stored,omitempty"`
	// TV is the total variation distance between the systems' decision
	// frequencies on this input; PValue the exact paired test of A = B on
	// it (FlipPValue) and QValue its Benjamini–Hochberg q across records.
	TV     float64  `json:"tv"`
	PValue *float64 `json:"p_value"`
	QValue *float64 `json:"q_value"`
	// Significant is true when QValue <= the comparison's FDR.
	Significant bool `json:"significant"`
}

// Estimate is a proportion k/n with its interval.
type Estimate struct {
	K     int     `json:"k"`
	N     int     `json:"n"`
	P     float64 `json:"p"`
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
}

func estimate(k, n int, conf float64) Estimate {
	e := Estimate{K: k, N: n}
	if n > 0 {
		e.P = float64(k) / float64(n)
		e.Lower, e.Upper, _ = stats.ClopperPearson(k, n, conf, stats.TwoSided)
	}
	return e
}

// Comparison is a finished comparison.
type Comparison struct {
	Config    *Config    `json:"config"`
	Decisions []Decision `json:"decisions"`
	Counts    Counts     `json:"counts"`
	// FlipShare is the share of compared records whose modal decision
	// flips, with its Clopper–Pearson interval at Conf; FlipUpper its
	// one-sided upper bound at 1 − Alpha (what SAME holds to Margin).
	FlipShare Estimate `json:"flip_share"`
	FlipUpper float64  `json:"flip_upper"`
	// StoredShare is the share of records whose stored decision B's modal
	// decision is not.
	StoredShare *Estimate `json:"stored_flip_share,omitempty"`
	// Permutation is the paired permutation test of A = B over every
	// record; McNemar the exact test on the modal decisions' agreement
	// with the stored ones (B = 1 agreement lost under B, C = gained).
	Permutation Test  `json:"permutation"`
	McNemar     *Test `json:"mcnemar,omitempty"`
	// Remediation lists the request ids the rollout changes whose stored
	// decision B would most likely not give, most likely first (see
	// remediate).
	Remediation []string `json:"remediation"`
	// Verdict is SAME, DIFFERENT or INCONCLUSIVE; Outcome adds "error"
	// (a record could not be compared) with ErrorClass.
	Verdict    verdict.Verdict `json:"verdict"`
	Outcome    string          `json:"outcome"`
	ErrorClass string          `json:"error_class,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	Summary    string          `json:"summary"`
}

// Verdicts of a comparison.
const (
	Same      verdict.Verdict = "SAME"
	Different verdict.Verdict = "DIFFERENT"
)

// Outcomes of a comparison, most severe first.
const (
	OutcomeDifferent    = "different"
	OutcomeError        = "error"
	OutcomeInconclusive = "inconclusive"
	OutcomeSame         = "same"
)

// Counts are a comparison's records.
type Counts struct {
	Records     int `json:"records"`
	Compared    int `json:"compared"`
	Flips       int `json:"flips"`
	Significant int `json:"significant"`
	Errors      int `json:"errors"`
}

// Test is a test's statistic and p-value.
type Test struct {
	Method    string  `json:"method"`
	Statistic float64 `json:"statistic"`
	PValue    float64 `json:"p_value"`
	B         int     `json:"b,omitempty"`
	C         int     `json:"c,omitempty"`
}

// Finalize derives every record's estimates and test, and the comparison's
// tests, flip share, remediation list and verdict. Records are sorted by
// request id, and the permutation test's draws are seeded by cfg.Seed, so
// the merged shards of a comparison give the unsharded one.
func Finalize(cfg *Config, ds []Decision) *Comparison {
	ds = slices.Clone(ds)
	slices.SortFunc(ds, func(a, b Decision) int { return strings.Compare(a.RequestID, b.RequestID) })
	c := &Comparison{Config: cfg, Decisions: ds}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x636f6d70617265))
	var all []Record
	for i := range ds {
		ds[i].derive(cfg, rng)
		if ds[i].Error == "" {
			all = append(all, Record{ds[i].A, ds[i].B})
		}
	}
	c.count()
	c.setQValues()
	stat, p := PermutationTest(all, PermutationDraws, rng)
	c.Permutation = Test{Method: fmt.Sprintf("permutation test paired by record over %d records (sum of total variation distances, %d draws)", len(all), PermutationDraws), Statistic: stat, PValue: p}
	c.mcnemar()
	c.remediate()
	c.conclude()
	return c
}

// derive computes d's modal decisions, estimates and test.
func (d *Decision) derive(cfg *Config, rng *rand.Rand) {
	d.PValue, d.QValue, d.Significant, d.DiffersStored, d.ADiffersStored = nil, nil, false, nil, nil
	if d.Error != "" {
		return
	}
	na, nb := total(d.A), total(d.B)
	d.Runs = min(na, nb)
	d.AMode, d.BMode = mode(d.A, d.Stored), mode(d.B, d.Stored)
	d.Flip = d.AMode != d.BMode
	d.DiffersA = estimate(nb-freq(d.B, d.AMode), nb, cfg.Conf)
	if d.Stored != nil {
		e, ea := estimate(nb-freq(d.B, *d.Stored), nb, cfg.Conf), estimate(na-freq(d.A, *d.Stored), na, cfg.Conf)
		d.DiffersStored, d.ADiffersStored = &e, &ea
	}
	d.TV = TV(d.A, d.B)
	if d.Runs > 0 {
		p := FlipPValue(d.A, d.B, rng)
		d.PValue = &p
	}
}

// mode is the most frequent decision of f; ties go to the stored decision
// when it is among them, else to the smallest (the same rule for A and B,
// so the modes stay exchangeable under A = B).
func mode(cs []Count, stored *string) string {
	best, n := "", -1
	for _, c := range cs { // sorted by decision
		if c.N > n || c.N == n && stored != nil && c.Decision == *stored {
			best, n = c.Decision, c.N
		}
	}
	return best
}

func (c *Comparison) count() {
	k := &c.Counts
	k.Records = len(c.Decisions)
	for _, d := range c.Decisions {
		switch {
		case d.Error != "":
			k.Errors++
			if c.ErrorClass == "" {
				c.ErrorClass = d.ErrorClass
			}
		case d.Runs > 0:
			k.Compared++
			if d.Flip {
				k.Flips++
			}
		}
	}
	c.FlipShare = estimate(k.Flips, k.Compared, c.Config.Conf)
	c.FlipUpper = 1
	if k.Compared > 0 {
		_, c.FlipUpper, _ = stats.ClopperPearson(k.Flips, k.Compared, 1-c.Config.Alpha, stats.Less)
	}
}

// setQValues applies Benjamini–Hochberg over the records' p-values.
func (c *Comparison) setQValues() {
	var ps []float64
	var idx []int
	for i, d := range c.Decisions {
		if d.PValue != nil {
			ps, idx = append(ps, *d.PValue), append(idx, i)
		}
	}
	if len(ps) == 0 {
		return
	}
	q, err := stats.BenjaminiHochberg(ps)
	if err != nil {
		return
	}
	for j, i := range idx {
		v := q[j]
		c.Decisions[i].QValue = &v
		c.Decisions[i].Significant = v <= c.Config.FDR
		if c.Decisions[i].Significant {
			c.Counts.Significant++
		}
	}
}

// mcnemar is McNemar's exact test on whether the modal decisions agree with
// the stored ones: a = A's mode is the stored decision, b = B's is.
func (c *Comparison) mcnemar() {
	var a, b []float64
	flips := 0
	for _, d := range c.Decisions {
		if d.Error != "" || d.Runs == 0 || d.Stored == nil {
			continue
		}
		a, b = append(a, one(d.AMode == *d.Stored)), append(b, one(d.BMode == *d.Stored))
		if d.BMode != *d.Stored {
			flips++
		}
	}
	if len(a) == 0 {
		return
	}
	e := estimate(flips, len(a), c.Config.Conf)
	c.StoredShare = &e
	r, err := stats.McNemar(a, b, stats.McNemarExact)
	if err != nil {
		return
	}
	c.McNemar = &Test{Method: r.Method + " on the modal decisions' agreement with the stored ones", Statistic: r.Statistic, PValue: r.PValue, B: r.B, C: r.C}
}

func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// remediate lists the records the rollout changes (the modal decision
// flips, or the record's own test is significant) whose stored decision
// B's modal decision is not, by the probability that B differs from it
// (highest first), then by their q-value, then request id. A record whose
// stored decision was a rare draw of A's, and which B decides as A
// mostly does, is not listed: the rollout did not change it.
func (c *Comparison) remediate() {
	var list []*Decision
	for i := range c.Decisions {
		d := &c.Decisions[i]
		if d.Error == "" && d.Stored != nil && d.Runs > 0 && d.BMode != *d.Stored && (d.Flip || d.Significant) {
			list = append(list, d)
		}
	}
	slices.SortStableFunc(list, func(a, b *Decision) int {
		return cmp.Or(cmp.Compare(b.DiffersStored.P, a.DiffersStored.P), cmp.Compare(*a.QValue, *b.QValue), strings.Compare(a.RequestID, b.RequestID))
	})
	c.Remediation = []string{}
	for _, d := range list {
		c.Remediation = append(c.Remediation, d.RequestID)
	}
}

// conclude sets the verdict, the outcome and the summary.
func (c *Comparison) conclude() {
	cfg, k := c.Config, c.Counts
	switch {
	case k.Compared == 0:
		c.Verdict = verdict.Inconclusive
		why := cfg.Empty
		if why == "" {
			why = "no record could be compared"
		}
		c.Reason = "nothing was compared, which is no evidence either way: " + why
	case c.Permutation.PValue <= cfg.Alpha:
		c.Verdict = Different
	case c.FlipUpper <= cfg.Margin:
		c.Verdict = Same
	default:
		c.Verdict = verdict.Inconclusive
		c.Reason = fmt.Sprintf("the paired test does not reject (p = %.3g > alpha %g), but the flip share's upper bound %.3g exceeds --margin %g: compare more records", c.Permutation.PValue, cfg.Alpha, c.FlipUpper, cfg.Margin)
	}
	switch {
	case c.Verdict == Different:
		c.Outcome = OutcomeDifferent
	case k.Errors > 0:
		c.Outcome = OutcomeError
	case c.Verdict == Same:
		c.Outcome = OutcomeSame
	default:
		c.Outcome = OutcomeInconclusive
	}
	c.Summary = fmt.Sprintf("%s: %d records compared (%d errors): %d flip (%.1f%%, %.0f%% interval [%.1f%%, %.1f%%]), %d significant (FDR %g); paired test p = %.3g",
		c.Verdict, k.Compared, k.Errors, k.Flips, 100*c.FlipShare.P, 100*cfg.Conf, 100*c.FlipShare.Lower, 100*c.FlipShare.Upper, k.Significant, cfg.FDR, c.Permutation.PValue)
}
