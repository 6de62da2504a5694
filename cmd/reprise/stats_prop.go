package main

import (
	"math/rand/v2"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/stats"
)

// propVerbs are the tests of proportions, tables, p-value lists, equivalence,
// power and sequential rules: binom, wilson, chisq, gtest, fisher, mcnemar,
// bh, by, holm, tost-mean, tost-prop, power, sprt and cs.
func propVerbs() []statsVerb {
	return []statsVerb{
		{
			name: "binom", use: "--successes K --trials N [--p P] [--alternative A] [--conf C]",
			short: "Exact binomial test with the Clopper-Pearson interval (as R's binom.test)",
			flags: func(o *statsOptions, c *cobra.Command) {
				o.addCounts(c)
				c.Flags().Float64Var(&o.P, "p", 0.5, "hypothesized probability of success")
				o.addAlternative(c)
				o.addConf(c)
			},
			run: runStatsBinom,
		},
		{
			name: "wilson", use: "--successes K --trials N [--alternative A] [--conf C]",
			short: "Wilson score interval of a proportion (as R's prop.test(correct = FALSE))",
			flags: func(o *statsOptions, c *cobra.Command) {
				o.addCounts(c)
				o.addAlternative(c)
				o.addConf(c)
			},
			run: runStatsWilson,
		},
		tableVerb("chisq", "Pearson's chi-square test of independence on an r×c table or two label samples (no continuity correction)", stats.ChiSquareTable),
		tableVerb("gtest", "G-test (log-likelihood ratio) of independence on an r×c table or two label samples", stats.GTestTable),
		{
			name: "fisher", use: "(--a FILE --b FILE | --table FILE) [--draws N --seed S]",
			short: "Fisher's exact test on an r×c table or the 2×k table of two label samples (R's two-sided rule)",
			long: `Fisher's exact test on an r×c table or the 2×k table of two label samples (R's two-sided rule).

The table is either the 2×k table of two label samples (--a, --b: files of
labels, one per line) or any r×c table of counts (--table: one row per line,
counts separated by spaces). The p-value is exact (the network algorithm for
r×c tables); when the exact test would be too large, it is Monte-Carlo over
--draws random tables with the observed margins, seeded by --seed, with its
standard error and a warning.`,
			flags: func(o *statsOptions, c *cobra.Command) {
				o.addABOrTable(c)
				o.addDraws(c, 100000, "Monte-Carlo tables when the exact test is too large (0: fail instead)")
			},
			run: runStatsFisher,
		},
		{
			name: "mcnemar", use: "--a FILE --b FILE [--method exact|midp|asymptotic]",
			short: "McNemar's test on paired 0/1 outcomes (line i of a pairs with line i of b)",
			flags: func(o *statsOptions, c *cobra.Command) {
				o.addAB(c, "0 or 1")
				c.Flags().StringVar(&o.Method, "method", "asymptotic", "exact, midp or asymptotic (chi-square with continuity correction, as R)")
			},
			run: runStatsMcNemar,
		},
		adjustVerb("bh", "Benjamini-Hochberg adjusted p-values (false discovery rate)", stats.BenjaminiHochberg),
		adjustVerb("by", "Benjamini-Yekutieli adjusted p-values (FDR under dependence)", stats.BenjaminiYekutieli),
		adjustVerb("holm", "Holm adjusted p-values (family-wise error)", stats.Holm),
		{
			name: "tost-mean", use: "--a FILE --b FILE --margin M [--paired]",
			short: "Equivalence of two means within ±M by two one-sided t-tests (Welch, or paired)",
			long: `Two one-sided tests (TOST): H0 says |mean(a) − mean(b)| >= M. A small p_value
(the larger of the two one-sided p-values) establishes equivalence within ±M.
Welch t-tests, or paired t-tests with --paired.`,
			flags: func(o *statsOptions, c *cobra.Command) {
				o.addAB(c, "one number")
				c.Flags().Float64Var(&o.Margin, "margin", 0, "equivalence margin M > 0 (required)")
				c.Flags().BoolVar(&o.Paired, "paired", false, "paired samples")
			},
			run: runStatsTOSTMean,
		},
		{
			name: "tost-prop", use: "--successes K --trials N --p0 P --margin M",
			short: "Equivalence of a proportion to P within ±M by two exact one-sided binomial tests",
			flags: func(o *statsOptions, c *cobra.Command) {
				o.addCounts(c)
				c.Flags().Float64Var(&o.P0, "p0", 0.5, "the proportion to be equivalent to")
				c.Flags().Float64Var(&o.Margin, "margin", 0, "equivalence margin M > 0 (required)")
			},
			run: runStatsTOSTProp,
		},
		{
			name: "power", use: "--test two-proportions|one-proportion|mcnemar|zero-failure [flags]",
			short: "Power, or the sample size that reaches a power",
			long: `Power and sample size, two-sided at --alpha:
  two-proportions --p1 --p2     per-group n (as R's power.prop.test)
  one-proportion  --p0 --p1     n for the z-test of H0: p = p0 when p = p1
  mcnemar         --p10 --p01   pairs, from the discordant probabilities (Connor 1987)
  zero-failure    --epsilon     runs without a failure to bound the failure rate
                                below epsilon: n >= ln(alpha) / ln(1 - epsilon)
Give --n to get the power, or --power to get the sample size.`,
			flags: func(o *statsOptions, c *cobra.Command) {
				f := c.Flags()
				f.StringVar(&o.Test, "test", "two-proportions", "two-proportions, one-proportion, mcnemar or zero-failure")
				f.Float64Var(&o.P0, "p0", 0.5, "null proportion (one-proportion)")
				f.Float64Var(&o.P1, "p1", 0.5, "proportion 1")
				f.Float64Var(&o.P2, "p2", 0.5, "proportion 2 (two-proportions)")
				f.Float64Var(&o.P10, "p10", 0.1, "probability of a (1,0) pair (mcnemar)")
				f.Float64Var(&o.P01, "p01", 0.1, "probability of a (0,1) pair (mcnemar)")
				f.Float64Var(&o.N, "n", 0, "sample size (per group for two-proportions; pairs for mcnemar)")
				f.Float64Var(&o.Power, "power", 0.8, "target power")
				f.Float64Var(&o.Alpha, "alpha", 0.05, "significance level")
				f.Float64Var(&o.Epsilon, "epsilon", 0.01, "failure rate bound (zero-failure)")
			},
			run: runStatsPower,
		},
		{
			name: "sprt", use: "--p0 P0 --p1 P1 --a FILE [--alpha A --beta B]",
			short: "Wald's sequential probability ratio test on a stream of 0/1 outcomes",
			long: `Wald's SPRT for a Bernoulli rate, H0: p = P0 against H1: p = P1, reading the 0/1
outcomes of --a (one per line) in order and stopping at the first decision.
Prints the decision ("accept H0", "accept H1" or "continue"), the number of
observations used, the log-likelihood ratio and Wald's bounds.`,
			flags: func(o *statsOptions, c *cobra.Command) {
				f := c.Flags()
				f.Float64Var(&o.P0, "p0", 0.99, "rate under H0")
				f.Float64Var(&o.P1, "p1", 0.95, "rate under H1")
				f.Float64Var(&o.Alpha, "alpha", 0.05, "type I error")
				f.Float64Var(&o.Beta, "beta", 0.1, "type II error")
				f.StringVar(&o.A, "a", "", "a `FILE` of 0/1 outcomes, one per line, in order (required)")
			},
			run: runStatsSPRT,
		},
		{
			name: "cs", use: "--successes K --trials N [--alpha A]",
			short: "Anytime-valid confidence sequence for a proportion (beta-binomial mixture)",
			flags: func(o *statsOptions, c *cobra.Command) {
				o.addCounts(c)
				c.Flags().Float64Var(&o.Alpha, "alpha", 0.05, "error probability over all looks")
				c.Flags().Float64Var(&o.PriorA, "prior-a", 1, "Beta mixing prior, first parameter")
				c.Flags().Float64Var(&o.PriorB, "prior-b", 1, "Beta mixing prior, second parameter")
			},
			run: runStatsCS,
		},
	}
}

// proportionInterval is the estimate K/N of a proportion and its interval at
// level Conf (one-sided for less and greater).
type proportionInterval struct {
	Estimate    float64 `json:"estimate"`
	Lower       float64 `json:"lower"`
	Upper       float64 `json:"upper"`
	Conf        float64 `json:"conf"`
	Alternative string  `json:"alternative"`
}

// binomResult is the answer of binom.
type binomResult struct {
	statsHead
	Statistic int     `json:"statistic"` // successes
	Trials    int     `json:"trials"`
	P         float64 `json:"p"` // the hypothesized probability
	PValue    float64 `json:"p_value"`
	proportionInterval
	IntervalMethod string `json:"interval_method"`
}

// proportion reads --successes, --trials and --alternative.
func (o *statsOptions) proportion() (k, n int, alt stats.Alternative, err error) {
	if k, n, err = o.counts(); err != nil {
		return k, n, alt, err
	}
	alt, err = o.alternative()
	return k, n, alt, err
}

func runStatsBinom(o *statsOptions) (any, error) {
	k, n, alt, err := o.proportion()
	if err != nil {
		return nil, err
	}
	r, err := stats.BinomTest(k, n, o.P, alt, o.Conf)
	if err != nil {
		return nil, err
	}
	return binomResult{statsHead{"binom", r.Method}, r.Successes, r.Trials, r.P, r.PValue,
		proportionInterval{r.Estimate, r.Lower, r.Upper, r.Conf, r.Alternative.String()}, "Clopper-Pearson"}, nil
}

// wilsonResult is the answer of wilson.
type wilsonResult struct {
	statsHead
	proportionInterval
}

func runStatsWilson(o *statsOptions) (any, error) {
	k, n, alt, err := o.proportion()
	if err != nil {
		return nil, err
	}
	lo, hi, err := stats.Wilson(k, n, o.Conf, alt)
	if err != nil {
		return nil, err
	}
	return wilsonResult{statsHead{"wilson", "Wilson score interval"},
		proportionInterval{float64(k) / float64(n), lo, hi, o.Conf, alt.String()}}, nil
}

// csResult is the answer of cs: an interval for the proportion that holds
// at every look with probability 1 − Alpha.
type csResult struct {
	statsHead
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
	Alpha float64 `json:"alpha"`
}

func runStatsCS(o *statsOptions) (any, error) {
	k, n, err := o.counts()
	if err != nil {
		return nil, err
	}
	lo, hi, err := stats.BetaBinomialCS(k, n, o.Alpha, o.PriorA, o.PriorB)
	if err != nil {
		return nil, err
	}
	return csResult{statsHead{"cs", "beta-binomial mixture confidence sequence (Howard et al. 2021)"}, lo, hi, o.Alpha}, nil
}

// tableResult is the answer of chisq and gtest.
type tableResult struct {
	statsHead
	Statistic  float64     `json:"statistic"`
	DF         int         `json:"df"`
	PValue     float64     `json:"p_value"`
	Categories []string    `json:"categories,omitempty"` // with --a/--b: the labels, the table's columns
	Table      [][]float64 `json:"table"`                // rows a and b (or the --table rows)
	drawInfo
	Warnings []string `json:"warnings"`
}

// tableVerb is chisq or gtest: test on an r×c table from --table, or the
// 2×k table of two label samples.
func tableVerb(name, short string, test func(t [][]float64, draws int, rng *rand.Rand) (stats.TableResult, error)) statsVerb {
	return statsVerb{
		name: name, use: "(--a FILE --b FILE | --table FILE) [--draws N --seed S]",
		short: short,
		long: short + `.

The table is either the 2×k table of two label samples (--a, --b: files of
labels, one per line) or any r×c table of counts (--table: one row per line,
counts separated by spaces). The p-value is asymptotic (chi-square) by
default; with --draws N it is (1 + #{T* >= T})/(N + 1) over N random tables
with the observed margins, seeded by --seed.`,
		flags: func(o *statsOptions, c *cobra.Command) {
			o.addABOrTable(c)
			o.addDraws(c, 0, "Monte-Carlo tables with the observed margins (0: asymptotic p-value)")
		},
		run: func(o *statsOptions) (any, error) {
			t, cats, err := o.readTable()
			if err != nil {
				return nil, err
			}
			if err := o.checkDraws(0); err != nil {
				return nil, err
			}
			r, err := test(t, o.Draws, o.rand())
			if err != nil {
				return nil, err
			}
			return tableResult{statsHead: statsHead{name, r.Method}, Statistic: r.Statistic, DF: r.DF, PValue: r.PValue,
				Categories: cats, Table: r.Table, drawInfo: o.drawn(r.MonteCarlo), Warnings: warnings(r.Warnings)}, nil
		},
	}
}

// fisherResult is the answer of fisher.
type fisherResult struct {
	statsHead
	PValue float64 `json:"p_value"`
	// StdErr is the standard error of a Monte-Carlo p-value.
	StdErr float64 `json:"std_err,omitempty"`
	drawInfo
	Warnings []string `json:"warnings"`
}

func runStatsFisher(o *statsOptions) (any, error) {
	t, _, err := o.readTable()
	if err != nil {
		return nil, err
	}
	if err := o.checkDraws(0); err != nil {
		return nil, err
	}
	r, err := stats.FisherTable(t, o.Draws, o.rand())
	if err != nil {
		return nil, err
	}
	return fisherResult{statsHead{"fisher", r.Method}, r.PValue, r.StdErr, o.drawn(r.MonteCarlo), warnings(r.Warnings)}, nil
}

// mcnemarResult is the answer of mcnemar.
type mcnemarResult struct {
	statsHead
	Statistic float64  `json:"statistic"`
	PValue    float64  `json:"p_value"`
	B         int      `json:"b"` // pairs a=1, b=0
	C         int      `json:"c"` // pairs a=0, b=1
	Warnings  []string `json:"warnings"`
}

func runStatsMcNemar(o *statsOptions) (any, error) {
	m, ok := map[string]stats.McNemarMethod{"asymptotic": stats.McNemarAsymptotic, "exact": stats.McNemarExact, "midp": stats.McNemarMidP}[o.Method]
	if !ok {
		return nil, usageErrorf("--method must be exact, midp or asymptotic, got %q", o.Method)
	}
	a, b, err := readPair(o, readNumbers)
	if err != nil {
		return nil, err
	}
	r, err := stats.McNemar(a, b, m)
	if err != nil {
		return nil, err
	}
	return mcnemarResult{statsHead{"mcnemar", r.Method}, r.Statistic, r.PValue, r.B, r.C, warnings(r.Warnings)}, nil
}

// adjustResult is the answer of bh, by and holm.
type adjustResult struct {
	statsHead
	Adjusted []float64 `json:"adjusted"` // in the order of the input
}

// adjustVerb is bh, by or holm: adjust the p-values of --p-values with f.
func adjustVerb(name, short string, f func([]float64) ([]float64, error)) statsVerb {
	return statsVerb{
		name: name, use: "--p-values FILE",
		short: short + " (as R's p.adjust)",
		flags: func(o *statsOptions, c *cobra.Command) {
			c.Flags().StringVar(&o.PValues, "p-values", "", "a `FILE` of p-values, one per line (required)")
		},
		run: func(o *statsOptions) (any, error) {
			p, err := readFlagFile("p-values", o.PValues, readNumbers)
			if err != nil {
				return nil, err
			}
			adj, err := f(p)
			if err != nil {
				return nil, err
			}
			return adjustResult{statsHead{name, short}, adj}, nil
		},
	}
}

// tostResult is the answer of tost-mean and tost-prop.
type tostResult struct {
	statsHead
	Estimate float64 `json:"estimate"`
	Margin   float64 `json:"margin"`
	PLower   float64 `json:"p_lower"`
	PUpper   float64 `json:"p_upper"`
	PValue   float64 `json:"p_value"`
	DF       float64 `json:"df,omitempty"` // t-tests only
}

func newTOSTResult(test string, r stats.TOSTResult) tostResult {
	return tostResult{statsHead{test, r.Method}, r.Estimate, r.Margin, r.PLower, r.PUpper, r.PValue, r.DF}
}

func runStatsTOSTMean(o *statsOptions) (any, error) {
	a, b, err := readPair(o, readNumbers)
	if err != nil {
		return nil, err
	}
	r, err := stats.TOSTMean(a, b, o.Margin, o.Paired)
	if err != nil {
		return nil, err
	}
	return newTOSTResult("tost-mean", r), nil
}

func runStatsTOSTProp(o *statsOptions) (any, error) {
	k, n, err := o.counts()
	if err != nil {
		return nil, err
	}
	r, err := stats.TOSTProportion(k, n, o.P0, o.Margin)
	if err != nil {
		return nil, err
	}
	return newTOSTResult("tost-prop", r), nil
}

// powerResult is the answer of power.
type powerResult struct {
	statsHead
	Kind    string   `json:"kind"` // the --test
	Alpha   float64  `json:"alpha"`
	N       float64  `json:"n"`
	Power   *float64 `json:"power,omitempty"`   // not for zero-failure
	Epsilon *float64 `json:"epsilon,omitempty"` // zero-failure only
}

// powerMethods names the method of each power --test.
var powerMethods = map[string]string{
	"two-proportions": "Two-sample comparison of proportions power calculation (R power.prop.test)",
	"one-proportion":  "One-sample z-test of a proportion, normal approximation",
	"mcnemar":         "McNemar test, Connor (1987) normal approximation",
	"zero-failure":    "zero-failure rule n >= ln(alpha)/ln(1-epsilon)",
}

func runStatsPower(o *statsOptions) (any, error) {
	method, ok := powerMethods[o.Test]
	if !ok {
		return nil, usageErrorf("--test must be two-proportions, one-proportion, mcnemar or zero-failure, got %q", o.Test)
	}
	out := powerResult{statsHead: statsHead{"power", method}, Kind: o.Test, Alpha: o.Alpha}
	if o.Test == "zero-failure" {
		k, err := stats.ZeroFailureN(o.Epsilon, o.Alpha)
		if err != nil {
			return nil, err
		}
		out.N, out.Epsilon = float64(k), &o.Epsilon
		return out, nil
	}
	haveN := o.changed("n")
	if haveN == o.changed("power") {
		return nil, usageErrorf("give exactly one of --n and --power")
	}
	var pw func(n float64) (float64, error)
	var size func() (stats.PowerResult, error)
	switch o.Test {
	case "two-proportions":
		pw = func(n float64) (float64, error) { return stats.PowerTwoProportions(n, o.P1, o.P2, o.Alpha) }
		size = func() (stats.PowerResult, error) { return stats.SampleSizeTwoProportions(o.P1, o.P2, o.Alpha, o.Power) }
	case "one-proportion":
		pw = func(n float64) (float64, error) { return stats.PowerOneProportion(n, o.P0, o.P1, o.Alpha) }
		size = func() (stats.PowerResult, error) { return stats.SampleSizeOneProportion(o.P0, o.P1, o.Alpha, o.Power) }
	default:
		pw = func(n float64) (float64, error) { return stats.PowerMcNemar(n, o.P10, o.P01, o.Alpha) }
		size = func() (stats.PowerResult, error) { return stats.SampleSizeMcNemar(o.P10, o.P01, o.Alpha, o.Power) }
	}
	if haveN {
		v, err := pw(o.N)
		if err != nil {
			return nil, err
		}
		out.N, out.Power = o.N, &v
		return out, nil
	}
	r, err := size()
	if err != nil {
		return nil, err
	}
	out.N, out.Power, out.Method = r.N, &r.Power, r.Method
	return out, nil
}

// sprtResult is the answer of sprt.
type sprtResult struct {
	statsHead
	Decision   string  `json:"decision"`
	N          int     `json:"n"` // observations used
	Successes  int     `json:"successes"`
	LLR        float64 `json:"llr"`
	LowerBound float64 `json:"lower_bound"`
	UpperBound float64 `json:"upper_bound"`
}

func runStatsSPRT(o *statsOptions) (any, error) {
	xs, err := readFlagFile("a", o.A, readNumbers)
	if err != nil {
		return nil, err
	}
	t, err := stats.NewSPRT(o.P0, o.P1, o.Alpha, o.Beta)
	if err != nil {
		return nil, err
	}
	if _, _, err := t.Run(xs); err != nil {
		return nil, usageErrorf("%s: %v", o.A, err)
	}
	lo, hi := t.Bounds()
	return sprtResult{statsHead{"sprt", "Wald's SPRT (Bernoulli)"}, t.Decision.String(), t.N, t.Successes, t.LLR, lo, hi}, nil
}
