package statsfile

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/reprise-dev/reprise/stats"
)

// proportionTests are the tests of proportions, tables and p-value lists:
// binom, wilson, chisq, gtest, fisher, mcnemar, bh, by and holm.
func proportionTests() []Test {
	return []Test{
		{
			Name: "binom", Use: "--successes K --trials N [--p P] [--alternative A] [--conf C]",
			Short: "Exact binomial test with the Clopper-Pearson interval (as R's binom.test)",
			flags: binomFlags, run: runBinom,
		},
		{
			Name: "wilson", Use: "--successes K --trials N [--alternative A] [--conf C]",
			Short: "Wilson score interval of a proportion (as R's prop.test(correct = FALSE))",
			flags: wilsonFlags, run: runWilson,
		},
		tableTest{"chisq", stats.ChiSquareTable}.test("Pearson's chi-square test of independence on an r×c table or two label samples (no continuity correction)"),
		tableTest{"gtest", stats.GTestTable}.test("G-test (log-likelihood ratio) of independence on an r×c table or two label samples"),
		{
			Name: "fisher", Use: "(--a FILE --b FILE | --table FILE) [--draws N --seed S] [--max-work N]",
			Short: "Fisher's exact test on an r×c table or the 2×k table of two label samples (R's two-sided rule)",
			Long: `Fisher's exact test on an r×c table or the 2×k table of two label samples (R's two-sided rule).

The table is either the 2×k table of two label samples (--a, --b: files of
labels, one per line) or any r×c table of counts (--table: one row per line,
counts separated by spaces). The p-value is exact (the network algorithm for
r×c tables); when the exact test would take more than --max-work steps
(about 0.1 µs each), it is Monte-Carlo over --draws random tables with the
observed margins, seeded by --seed, with its standard error and a warning
(--draws 0: an error instead).`,
			flags: fisherFlags, run: runFisher,
		},
		{
			Name: "mcnemar", Use: "--a FILE --b FILE [--method exact|midp|asymptotic]",
			Short: "McNemar's test on paired 0/1 outcomes (line i of a pairs with line i of b)",
			flags: mcnemarFlags, run: runMcNemar,
		},
		adjustTest{"bh", "Benjamini-Hochberg adjusted p-values (false discovery rate)", stats.BenjaminiHochberg}.test(),
		adjustTest{"by", "Benjamini-Yekutieli adjusted p-values (FDR under dependence)", stats.BenjaminiYekutieli}.test(),
		adjustTest{"holm", "Holm adjusted p-values (family-wise error)", stats.Holm}.test(),
	}
}

// ProportionInterval is the estimate K/N of a proportion and its interval
// at level Conf (one-sided for less and greater).
type ProportionInterval struct {
	Estimate    float64 `json:"estimate"`
	Lower       float64 `json:"lower"`
	Upper       float64 `json:"upper"`
	Conf        float64 `json:"conf"`
	Alternative string  `json:"alternative"`
}

// BinomResult is the answer of binom.
type BinomResult struct {
	Head
	Statistic int     `json:"statistic"` // successes
	Trials    int     `json:"trials"`
	P         float64 `json:"p"` // the hypothesized probability
	PValue    float64 `json:"p_value"`
	ProportionInterval
	IntervalMethod string `json:"interval_method"`
}

// binomFlags registers the parameters of binom: those of wilson and p.
func binomFlags(p *Params, fs FlagSet) {
	wilsonFlags(p, fs)
	fs.Float64Var(&p.P, "p", 0.5, "hypothesized probability of success")
}

// runBinom is binom: stats.BinomTest.
func runBinom(p *Params) (any, error) {
	k, n, alt, err := p.proportion()
	if err != nil {
		return nil, err
	}
	r, err := stats.BinomTest(k, n, p.P, alt, p.Conf)
	if err != nil {
		return nil, err
	}
	return BinomResult{Head{"binom", r.Method}, r.Successes, r.Trials, r.P, r.PValue,
		ProportionInterval{r.Estimate, r.Lower, r.Upper, r.Conf, r.Alternative.String()}, "Clopper-Pearson"}, nil
}

// WilsonResult is the answer of wilson.
type WilsonResult struct {
	Head
	ProportionInterval
}

// wilsonFlags registers the parameters of wilson.
func wilsonFlags(p *Params, fs FlagSet) {
	p.addCounts(fs)
	p.addAlternative(fs)
	p.addConf(fs)
}

// runWilson is wilson: stats.Wilson.
func runWilson(p *Params) (any, error) {
	k, n, alt, err := p.proportion()
	if err != nil {
		return nil, err
	}
	lo, hi, err := stats.Wilson(k, n, p.Conf, alt)
	if err != nil {
		return nil, err
	}
	return WilsonResult{Head{"wilson", "Wilson score interval"},
		ProportionInterval{float64(k) / float64(n), lo, hi, p.Conf, alt.String()}}, nil
}

// TableResult is the answer of chisq and gtest.
type TableResult struct {
	Head
	Statistic  float64     `json:"statistic"`
	DF         int         `json:"df"`
	PValue     float64     `json:"p_value"`
	Categories []string    `json:"categories,omitempty"` // with a and b: the labels, the table's columns
	Table      [][]float64 `json:"table"`                // rows a and b (or the table's rows)
	DrawInfo
	Warnings []string `json:"warnings"`
}

// tableTest is chisq or gtest: test on an r×c table from table, or the 2×k
// table of two label samples.
type tableTest struct {
	name string
	stat func(t [][]float64, draws int, rng *rand.Rand) (stats.TableResult, error)
}

// test is the Test of t, with the help that begins with short.
func (t tableTest) test(short string) Test {
	return Test{
		Name: t.name, Use: "(--a FILE --b FILE | --table FILE) [--draws N --seed S]",
		Short: short,
		Long: short + `.

The table is either the 2×k table of two label samples (--a, --b: files of
labels, one per line) or any r×c table of counts (--table: one row per line,
counts separated by spaces). The p-value is asymptotic (chi-square) by
default; with --draws N it is (1 + #{T* >= T})/(N + 1) over N random tables
with the observed margins, seeded by --seed.`,
		flags: tableFlags, run: t.run,
	}
}

// tableFlags registers the parameters of chisq and gtest.
func tableFlags(p *Params, fs FlagSet) {
	p.addABOrTable(fs)
	p.addDraws(fs, 0, "Monte-Carlo tables with the observed margins (0: asymptotic p-value)")
}

// onTable reads the table of p, checks draws >= 0 and runs stat on the
// table with draws and the random stream of seed. It returns the table's
// categories too (with a and b).
func onTable[R any](p *Params, stat func(t [][]float64, draws int, rng *rand.Rand) (R, error)) (R, []string, error) {
	var r R
	t, cats, err := p.readTable()
	if err == nil {
		err = p.checkDraws(0)
	}
	if err != nil {
		return r, nil, err
	}
	r, err = stat(t, p.Draws, p.rand())
	return r, cats, err
}

// run runs t on p.
func (t tableTest) run(p *Params) (any, error) {
	r, cats, err := onTable(p, t.stat)
	if err != nil {
		return nil, err
	}
	return TableResult{Head: Head{t.name, r.Method}, Statistic: r.Statistic, DF: r.DF, PValue: r.PValue,
		Categories: cats, Table: r.Table, DrawInfo: p.drawn(r.MonteCarlo), Warnings: warnings(r.Warnings)}, nil
}

// FisherResult is the answer of fisher.
type FisherResult struct {
	Head
	PValue float64 `json:"p_value"`
	// StdErr is the standard error of a Monte-Carlo p-value.
	StdErr float64 `json:"std_err,omitempty"`
	DrawInfo
	Warnings []string `json:"warnings"`
}

// fisherFlags registers the parameters of fisher.
func fisherFlags(p *Params, fs FlagSet) {
	p.addABOrTable(fs)
	p.addDraws(fs, 100000, "Monte-Carlo tables when the exact test is too large (0: fail instead)")
	fs.IntVar(&p.MaxWork, "max-work", stats.MaxFisherWork, "work limit `N` of the exact test, in steps (past it: Monte-Carlo, or an error with --draws 0)")
}

// runFisher is fisher: stats.FisherTableLimit.
func runFisher(p *Params) (any, error) {
	if p.MaxWork < 1 {
		return nil, inputErrorf("--max-work must be >= 1, got %d", p.MaxWork)
	}
	r, _, err := onTable(p, func(t [][]float64, b int, rng *rand.Rand) (stats.FisherResult, error) {
		return stats.FisherTableLimit(t, b, rng, p.MaxWork)
	})
	if we := (*stats.FisherWorkError)(nil); errors.As(err, &we) {
		err = fmt.Errorf("%w: raise --max-work (now %d) for the exact test, or give --draws N > 0 for a Monte-Carlo p-value", err, we.Limit)
	}
	if err != nil {
		return nil, err
	}
	ws := warnings(r.Warnings)
	if r.MonteCarlo > 0 {
		ws = append(ws, fmt.Sprintf("raise --max-work (now %d) for the exact p-value", p.MaxWork))
	}
	return FisherResult{Head{"fisher", r.Method}, r.PValue, r.StdErr, p.drawn(r.MonteCarlo), ws}, nil
}

// McNemarResult is the answer of mcnemar.
type McNemarResult struct {
	Head
	Statistic float64  `json:"statistic"`
	PValue    float64  `json:"p_value"`
	B         int      `json:"b"` // pairs a=1, b=0
	C         int      `json:"c"` // pairs a=0, b=1
	Warnings  []string `json:"warnings"`
}

// mcnemarFlags registers the parameters of mcnemar.
func mcnemarFlags(p *Params, fs FlagSet) {
	p.addAB(fs, "0 or 1")
	fs.StringVar(&p.Method, "method", "asymptotic", "exact, midp or asymptotic (chi-square with continuity correction, as R)")
}

// mcnemarMethods are the methods of mcnemar by name.
var mcnemarMethods = map[string]stats.McNemarMethod{
	"asymptotic": stats.McNemarAsymptotic, "exact": stats.McNemarExact, "midp": stats.McNemarMidP,
}

// runMcNemar is mcnemar: stats.McNemar.
func runMcNemar(p *Params) (any, error) {
	m, ok := mcnemarMethods[p.Method]
	if !ok {
		return nil, inputErrorf("--method must be exact, midp or asymptotic, got %q", p.Method)
	}
	a, b, err := readPair(p, ReadNumbers)
	if err != nil {
		return nil, err
	}
	r, err := stats.McNemar(a, b, m)
	if err != nil {
		return nil, err
	}
	return McNemarResult{Head{"mcnemar", r.Method}, r.Statistic, r.PValue, r.B, r.C, warnings(r.Warnings)}, nil
}

// AdjustResult is the answer of bh, by and holm.
type AdjustResult struct {
	Head
	Adjusted []float64 `json:"adjusted"` // in the order of the input
}

// adjustTest is bh, by or holm: adjust the p-values of p-values with adjust.
type adjustTest struct {
	name, method string
	adjust       func([]float64) ([]float64, error)
}

// test is the Test of t.
func (t adjustTest) test() Test {
	return Test{Name: t.name, Use: "--p-values FILE", Short: t.method + " (as R's p.adjust)", flags: adjustFlags, run: t.run}
}

// adjustFlags registers the parameters of bh, by and holm.
func adjustFlags(p *Params, fs FlagSet) {
	fs.StringVar(&p.PValues, "p-values", "", "a `FILE` of p-values, one per line (required)")
}

// run runs t on p.
func (t adjustTest) run(p *Params) (any, error) {
	pv, err := readFile("p-values", p.PValues, ReadNumbers)
	if err != nil {
		return nil, err
	}
	adj, err := t.adjust(pv)
	if err != nil {
		return nil, err
	}
	return AdjustResult{Head{t.name, t.method}, adj}, nil
}
