package evals

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/stats"
	"github.com/reprise-dev/reprise/verdict"
)

// SuiteMismatchError is returned by Compare for runs on different suites.
type SuiteMismatchError struct {
	A, B             digest.Digest
	AName, BName     string
	RunA, RunB       digest.Digest
	ASystem, BSystem digest.Digest
}

func (e *SuiteMismatchError) Error() string {
	return fmt.Sprintf("run A is on suite %s (%s), run B on suite %s (%s): scores on different suites are not comparable; "+
		"re-score one run onto the other's suite first: reprise evals rescore --suite %s --results %s (or --suite %s --results %s)",
		e.AName, e.A, e.BName, e.B, e.B, e.RunA, e.A, e.RunB)
}

func (e *SuiteMismatchError) Unwrap() error { return ErrSuiteMismatch }

// Flip is an item that passed in one run and failed in the other (per-item
// mean ≥ 0.5 is a pass).
type Flip struct {
	Item string  `json:"item"`
	A    float64 `json:"a"`
	B    float64 `json:"b"`
}

// Comparison is the paired comparison of two runs on one suite.
type Comparison struct {
	Suite digest.Digest `json:"suite"`
	RunA  digest.Digest `json:"run_a"`
	RunB  digest.Digest `json:"run_b"`
	// Items is the number of items paired; MeanA and MeanB the means of
	// their per-item means.
	Items  int     `json:"items"`
	MeanA  float64 `json:"mean_a"`
	MeanB  float64 `json:"mean_b"`
	Diff   float64 `json:"mean_diff"` // mean of B − A over items
	Binary bool    `json:"binary"`    // every per-item mean is 0 or 1
	// Test is the paired test made (McNemar or Wilcoxon) and PValue its
	// p-value; Lower and Upper the bootstrap interval of Diff at Conf.
	Test    string  `json:"test"`
	PValue  float64 `json:"p_value"`
	Lower   float64 `json:"diff_lower,omitempty"`
	Upper   float64 `json:"diff_upper,omitempty"`
	Conf    float64 `json:"conf"`
	Flipped []Flip  `json:"flipped"`
	// Margin and Equivalent: the TOST verdict when a margin is given.
	Margin     float64  `json:"margin,omitempty"`
	Alpha      float64  `json:"alpha,omitempty"` // the TOST's level
	TOSTP      *float64 `json:"tost_p,omitempty"`
	Equivalent *bool    `json:"equivalent,omitempty"`
	Verdict    string   `json:"verdict,omitempty"` // EQUIVALENT, NOT EQUIVALENT
	// EqLower and EqUpper are the 1 − 2α paired t interval of the mean
	// difference B − A that the TOST decides with: equivalent exactly
	// when it lies inside (−Margin, Margin).
	EqLower  *float64 `json:"eq_lower,omitempty"`
	EqUpper  *float64 `json:"eq_upper,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// ItemMeans averages each item's scores over its epochs.
func ItemMeans(rows []Row) map[string]float64 {
	sum, n := map[string]float64{}, map[string]float64{}
	for _, r := range rows {
		sum[r.Item] += r.Score
		n[r.Item]++
	}
	for k := range sum {
		sum[k] /= n[k]
	}
	return sum
}

// CompareOptions configure Compare.
type CompareOptions struct {
	Margin    float64 // > 0 adds the TOST verdict
	Alpha     float64 // TOST level (default 0.05)
	Conf      float64 // bootstrap interval level (default 0.95)
	Resamples int     // bootstrap resamples (default 10000)
	Seed      uint64
}

// withDefaults fills the zero fields of o with their defaults.
func (o CompareOptions) withDefaults() CompareOptions {
	if o.Alpha == 0 {
		o.Alpha = 0.05
	}
	if o.Conf == 0 {
		o.Conf = 0.95
	}
	if o.Resamples == 0 {
		o.Resamples = 10000
	}
	return o
}

// Compare pairs the runs a and b by item (per-item means over epochs
// first). Runs on different suites give a *SuiteMismatchError. All 0/1
// per-item means: McNemar's exact test; otherwise the Wilcoxon signed-rank
// test and a BCa paired bootstrap interval of the mean difference B − A.
func Compare(runA, runB digest.Digest, a, b *RunManifest, rowsA, rowsB []Row, o CompareOptions) (*Comparison, error) {
	if a.Suite != b.Suite {
		return nil, &SuiteMismatchError{A: a.Suite, B: b.Suite, AName: a.SuiteName + " " + a.SuiteVersion, BName: b.SuiteName + " " + b.SuiteVersion, RunA: runA, RunB: runB}
	}
	o = o.withDefaults()
	p := pairRuns(&Comparison{Suite: a.Suite, RunA: runA, RunB: runB, Conf: o.Conf}, rowsA, rowsB)
	if len(p.ids) == 0 {
		return nil, fmt.Errorf("%w: the runs share no items", ErrResults)
	}
	var err error
	if p.c.Binary {
		err = p.mcNemar()
	} else {
		err = p.signedRank(o)
	}
	if err == nil && o.Margin > 0 {
		err = p.tost(o)
	}
	if err != nil {
		return nil, err
	}
	return p.c, nil
}

// pairing is a comparison being made: the items in both runs and their
// per-item means in A and B.
type pairing struct {
	c      *Comparison
	ids    []string
	xa, xb []float64
}

// pairRuns pairs the per-item means of rowsA and rowsB by item id (sorted)
// and fills c's item count, means, difference, Binary and Flipped; a
// warning says when the runs do not hold the same items.
func pairRuns(c *Comparison, rowsA, rowsB []Row) *pairing {
	ma, mb := ItemMeans(rowsA), ItemMeans(rowsB)
	p := &pairing{c: c}
	for id := range ma {
		if _, ok := mb[id]; ok {
			p.ids = append(p.ids, id)
		}
	}
	slices.Sort(p.ids)
	n := len(p.ids)
	c.Items, c.Flipped, c.Binary = n, []Flip{}, true
	if n != len(ma) || n != len(mb) {
		c.Warnings = append(c.Warnings, fmt.Sprintf("only %d items are in both runs (A has %d, B %d)", n, len(ma), len(mb)))
	}
	p.xa, p.xb = make([]float64, n), make([]float64, n)
	for i, id := range p.ids {
		a, b := ma[id], mb[id]
		p.xa[i], p.xb[i] = a, b
		c.MeanA += a / float64(n)
		c.MeanB += b / float64(n)
		c.Binary = c.Binary && (a == 0 || a == 1) && (b == 0 || b == 1)
		if (a >= 0.5) != (b >= 0.5) {
			c.Flipped = append(c.Flipped, Flip{Item: id, A: a, B: b})
		}
	}
	c.Diff = c.MeanB - c.MeanA
	return p
}

// mcNemar tests the 0/1 per-item means with McNemar's exact test, on
// (B, A) so that its B count is the items passed by B only.
func (p *pairing) mcNemar() error {
	r, err := stats.McNemar(p.xb, p.xa, stats.McNemarExact)
	if err != nil {
		return err
	}
	p.c.Test, p.c.PValue = r.Method, r.PValue
	return nil
}

// signedRank tests the per-item means with the Wilcoxon signed-rank test
// (p = 1 when no difference is non-zero) and, with two items or more,
// sets the BCa paired bootstrap interval of the mean difference.
func (p *pairing) signedRank(o CompareOptions) error {
	c := p.c
	w, err := stats.WilcoxonSignedRank(p.xb, p.xa, stats.TwoSided, stats.PValueAuto)
	switch {
	case errors.Is(err, stats.ErrSampleSize):
		c.Test, c.PValue = "Wilcoxon signed rank (no non-zero differences)", 1
	case err != nil:
		return err
	default:
		c.Test, c.PValue = w.Method, w.PValue
	}
	if len(p.ids) < 2 {
		return nil
	}
	bs, err := stats.PairedBootstrapMeanDiff(p.xb, p.xa, stats.BootstrapBCa, o.Conf, o.Resamples, rand.New(rand.NewPCG(o.Seed, 0x65766173)))
	if err != nil {
		return err
	}
	c.Lower, c.Upper = bs.Lower, bs.Upper
	c.Warnings = append(c.Warnings, bs.Warnings...)
	return nil
}

// tost sets the paired TOST verdict within ±o.Margin at level o.Alpha and
// the 1 − 2α interval it decides with. With no variance in the differences
// it decides on the constant difference (and says so in a warning).
func (p *pairing) tost(o CompareOptions) error {
	c := p.c
	c.Margin, c.Alpha = o.Margin, o.Alpha
	t, err := stats.TOSTMean(p.xb, p.xa, o.Margin, true)
	var pv float64
	switch {
	case errors.Is(err, stats.ErrSampleSize):
		pv = 1
		if d := c.Diff; d > -o.Margin && d < o.Margin {
			pv = 0
		}
		c.Warnings = append(c.Warnings, "TOST: the per-item differences have no variance; decided on the constant difference")
	case err != nil:
		return err
	default:
		pv = t.PValue
	}
	eq := pv < o.Alpha
	c.TOSTP, c.Equivalent = &pv, &eq
	lo, hi := pairedTInterval(p.xb, p.xa, 1-2*o.Alpha)
	c.EqLower, c.EqUpper = &lo, &hi
	c.Verdict = "NOT EQUIVALENT"
	if eq {
		c.Verdict = "EQUIVALENT"
	}
	return nil
}

// pairedTInterval is the two-sided t interval at level conf of the mean of
// b[i] − a[i] (R: t.test(b, a, paired = TRUE, conf.level = conf)$conf.int);
// with no variance (or one pair) it is the mean itself.
func pairedTInterval(b, a []float64, conf float64) (lo, hi float64) {
	n := float64(len(a))
	var mean float64
	for i := range a {
		mean += (b[i] - a[i]) / n
	}
	var ss float64
	for i := range a {
		d := b[i] - a[i] - mean
		ss += d * d
	}
	if len(a) < 2 || ss == 0 {
		return mean, mean
	}
	se := math.Sqrt(ss / (n - 1) / n)
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile(1 - (1-conf)/2)
	return mean - t*se, mean + t*se
}

// EvalVerdict turns a comparison with a margin (stored run A, replayed run
// B) into a reproduction verdict: REPRODUCED when the TOST establishes
// equivalence within the margin; DIVERGED when the 1 − 2α interval of the
// difference lies entirely outside [−margin, margin]; INCONCLUSIVE otherwise.
func EvalVerdict(c *Comparison) verdict.Verdict {
	switch {
	case c.Equivalent == nil:
		return verdict.Inconclusive
	case *c.Equivalent:
		return verdict.Reproduced
	case *c.EqLower > c.Margin || *c.EqUpper < -c.Margin:
		return verdict.Diverged
	}
	return verdict.Inconclusive
}
