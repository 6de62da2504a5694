package statsfile

import (
	"github.com/reprise-dev/reprise/stats"
)

// equivalenceTests are the tests of equivalence, power and sequential
// rules: tost-mean, tost-prop, power, sprt and cs.
func equivalenceTests() []Test {
	return []Test{
		{
			Name: "tost-mean", Use: "--a FILE --b FILE --margin M [--paired]",
			Short: "Equivalence of two means within ±M by two one-sided t-tests (Welch, or paired)",
			Long: `Two one-sided tests (TOST): H0 says |mean(a) − mean(b)| >= M. A small p_value
(the larger of the two one-sided p-values) establishes equivalence within ±M.
Welch t-tests, or paired t-tests with --paired.`,
			flags: tostMeanFlags, run: runTOSTMean,
		},
		{
			Name: "tost-prop", Use: "--successes K --trials N --p0 P --margin M",
			Short: "Equivalence of a proportion to P within ±M by two exact one-sided binomial tests",
			flags: tostPropFlags, run: runTOSTProp,
		},
		{
			Name: "power", Use: "--test two-proportions|one-proportion|mcnemar|zero-failure [flags]",
			Short: "Power, or the sample size that reaches a power",
			Long: `Power and sample size, two-sided at --alpha:
  two-proportions --p1 --p2     per-group n (as R's power.prop.test)
  one-proportion  --p0 --p1     n for the z-test of H0: p = p0 when p = p1
  mcnemar         --p10 --p01   pairs, from the discordant probabilities (Connor 1987)
  zero-failure    --epsilon     runs without a failure to bound the failure rate
                                below epsilon: n >= ln(alpha) / ln(1 - epsilon)
Give --n to get the power, or --power to get the sample size.`,
			flags: powerFlags, run: runPower,
		},
		{
			Name: "sprt", Use: "--p0 P0 --p1 P1 --a FILE [--alpha A --beta B]",
			Short: "Wald's sequential probability ratio test on a stream of 0/1 outcomes",
			Long: `Wald's SPRT for a Bernoulli rate, H0: p = P0 against H1: p = P1, reading the 0/1
outcomes of --a (one per line) in order and stopping at the first decision.
Prints the decision ("accept H0", "accept H1" or "continue"), the number of
observations used, the log-likelihood ratio and Wald's bounds.`,
			flags: sprtFlags, run: runSPRT,
		},
		{
			Name: "cs", Use: "--successes K --trials N [--alpha A]",
			Short: "Anytime-valid confidence sequence for a proportion (beta-binomial mixture)",
			flags: csFlags, run: runCS,
		},
	}
}

// TOSTResult is the answer of tost-mean and tost-prop.
type TOSTResult struct {
	Head
	Estimate float64 `json:"estimate"`
	Margin   float64 `json:"margin"`
	PLower   float64 `json:"p_lower"`
	PUpper   float64 `json:"p_upper"`
	PValue   float64 `json:"p_value"`
	DF       float64 `json:"df,omitempty"` // t-tests only
}

// tostResult is the answer of test from r.
func tostResult(test string, r stats.TOSTResult, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return TOSTResult{Head{test, r.Method}, r.Estimate, r.Margin, r.PLower, r.PUpper, r.PValue, r.DF}, nil
}

// tostMeanFlags registers the parameters of tost-mean.
func tostMeanFlags(p *Params, fs FlagSet) {
	p.addAB(fs, "one number")
	p.addMargin(fs)
	fs.BoolVar(&p.Paired, "paired", false, "paired samples")
}

// runTOSTMean is tost-mean: stats.TOSTMean.
func runTOSTMean(p *Params) (any, error) {
	a, b, err := readPair(p, ReadNumbers)
	if err != nil {
		return nil, err
	}
	r, err := stats.TOSTMean(a, b, p.Margin, p.Paired)
	return tostResult("tost-mean", r, err)
}

// tostPropFlags registers the parameters of tost-prop.
func tostPropFlags(p *Params, fs FlagSet) {
	p.addCounts(fs)
	fs.Float64Var(&p.P0, "p0", 0.5, "the proportion to be equivalent to")
	p.addMargin(fs)
}

// runTOSTProp is tost-prop: stats.TOSTProportion.
func runTOSTProp(p *Params) (any, error) {
	k, n, err := p.counts()
	if err != nil {
		return nil, err
	}
	r, err := stats.TOSTProportion(k, n, p.P0, p.Margin)
	return tostResult("tost-prop", r, err)
}

// SPRTResult is the answer of sprt.
type SPRTResult struct {
	Head
	Decision   string  `json:"decision"`
	N          int     `json:"n"` // observations used
	Successes  int     `json:"successes"`
	LLR        float64 `json:"llr"`
	LowerBound float64 `json:"lower_bound"`
	UpperBound float64 `json:"upper_bound"`
}

// sprtFlags registers the parameters of sprt.
func sprtFlags(p *Params, fs FlagSet) {
	fs.Float64Var(&p.P0, "p0", 0.99, "rate under H0")
	fs.Float64Var(&p.P1, "p1", 0.95, "rate under H1")
	fs.Float64Var(&p.Alpha, "alpha", 0.05, "type I error")
	fs.Float64Var(&p.Beta, "beta", 0.1, "type II error")
	fs.StringVar(&p.A, "a", "", "a `FILE` of 0/1 outcomes, one per line, in order (required)")
}

// runSPRT is sprt: a stats.SPRT run over the outcomes of a.
func runSPRT(p *Params) (any, error) {
	xs, err := readFile("a", p.A, ReadNumbers)
	if err != nil {
		return nil, err
	}
	t, err := stats.NewSPRT(p.P0, p.P1, p.Alpha, p.Beta)
	if err != nil {
		return nil, err
	}
	if _, _, err := t.Run(xs); err != nil {
		return nil, inputErrorf("%s: %v", p.A, err)
	}
	lo, hi := t.Bounds()
	return SPRTResult{Head{"sprt", "Wald's SPRT (Bernoulli)"}, t.Decision.String(), t.N, t.Successes, t.LLR, lo, hi}, nil
}

// CSResult is the answer of cs: an interval for the proportion that holds
// at every look with probability 1 − Alpha.
type CSResult struct {
	Head
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
	Alpha float64 `json:"alpha"`
}

// csFlags registers the parameters of cs.
func csFlags(p *Params, fs FlagSet) {
	p.addCounts(fs)
	fs.Float64Var(&p.Alpha, "alpha", 0.05, "error probability over all looks")
	fs.Float64Var(&p.PriorA, "prior-a", 1, "Beta mixing prior, first parameter")
	fs.Float64Var(&p.PriorB, "prior-b", 1, "Beta mixing prior, second parameter")
}

// runCS is cs: stats.BetaBinomialCS.
func runCS(p *Params) (any, error) {
	k, n, err := p.counts()
	if err != nil {
		return nil, err
	}
	lo, hi, err := stats.BetaBinomialCS(k, n, p.Alpha, p.PriorA, p.PriorB)
	if err != nil {
		return nil, err
	}
	return CSResult{Head{"cs", "beta-binomial mixture confidence sequence (Howard et al. 2021)"}, lo, hi, p.Alpha}, nil
}
