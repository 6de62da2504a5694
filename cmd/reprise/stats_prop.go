package main

import (
	"math/rand/v2"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/stats"
)

// addStatsProportionCommands adds binom, wilson, chisq, gtest, fisher,
// mcnemar, bh, by, holm, tost-mean, tost-prop, power, sprt and cs.
func addStatsProportionCommands(parent *cobra.Command, s *streams) {
	parent.AddCommand(
		newStatsBinomCmd(s), newStatsWilsonCmd(s),
		newStatsTableCmd(s, "chisq", "Pearson's chi-square test of homogeneity of two label samples (no continuity correction)", stats.ChiSquareLabels),
		newStatsTableCmd(s, "gtest", "G-test (log-likelihood ratio) of homogeneity of two label samples", stats.GTestLabels),
		newStatsFisherCmd(s), newStatsMcNemarCmd(s),
		newStatsAdjustCmd(s, "bh", "Benjamini-Hochberg adjusted p-values (false discovery rate)", stats.BenjaminiHochberg),
		newStatsAdjustCmd(s, "by", "Benjamini-Yekutieli adjusted p-values (FDR under dependence)", stats.BenjaminiYekutieli),
		newStatsAdjustCmd(s, "holm", "Holm adjusted p-values (family-wise error)", stats.Holm),
		newStatsTOSTMeanCmd(s), newStatsTOSTPropCmd(s), newStatsPowerCmd(s), newStatsSPRTCmd(s), newStatsCSCmd(s),
	)
}

type propOptions struct {
	K, N        int
	P, Conf     float64
	Alternative string
}

func (o *propOptions) addFlags(c *cobra.Command, withP bool) {
	c.Flags().IntVar(&o.K, "successes", -1, "number of successes K (required)")
	c.Flags().IntVar(&o.N, "trials", 0, "number of trials N (required)")
	c.Flags().Float64Var(&o.Conf, "conf", 0.95, "confidence level of the interval")
	c.Flags().StringVar(&o.Alternative, "alternative", "two-sided", "two-sided, less or greater")
	if withP {
		c.Flags().Float64Var(&o.P, "p", 0.5, "hypothesized probability of success")
	}
}

func (o *propOptions) check() (stats.Alternative, error) {
	if o.K < 0 || o.N < 1 {
		return 0, usageErrorf("--successes K and --trials N are required (0 <= K <= N, N >= 1)")
	}
	alt, err := stats.ParseAlternative(o.Alternative)
	if err != nil { // one line, naming the flag
		return 0, usageErrorf("--alternative must be two-sided, less or greater, got %q", o.Alternative)
	}
	return alt, nil
}

func newStatsBinomCmd(s *streams) *cobra.Command {
	o := &propOptions{}
	c := &cobra.Command{
		Use:   "binom --successes K --trials N [--p P] [--alternative A] [--conf C]",
		Short: "Exact binomial test with the Clopper-Pearson interval (as R's binom.test)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			alt, err := o.check()
			if err != nil {
				return err
			}
			r, err := stats.BinomTest(o.K, o.N, o.P, alt, o.Conf)
			if err != nil {
				return err
			}
			return writeJSON(s.Out, map[string]any{"test": "binom", "method": r.Method, "statistic": r.Successes, "trials": r.Trials,
				"estimate": r.Estimate, "p": r.P, "p_value": r.PValue, "lower": r.Lower, "upper": r.Upper, "conf": r.Conf,
				"alternative": r.Alternative.String(), "interval_method": "Clopper-Pearson"})
		},
	}
	o.addFlags(c, true)
	return c
}

func newStatsWilsonCmd(s *streams) *cobra.Command {
	o := &propOptions{}
	c := &cobra.Command{
		Use:   "wilson --successes K --trials N [--conf C]",
		Short: "Wilson score interval of a proportion (as R's prop.test(correct = FALSE))",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			alt, err := o.check()
			if err != nil {
				return err
			}
			lo, hi, err := stats.Wilson(o.K, o.N, o.Conf, alt)
			if err != nil {
				return err
			}
			return writeJSON(s.Out, map[string]any{"test": "wilson", "method": "Wilson score interval", "estimate": float64(o.K) / float64(o.N),
				"lower": lo, "upper": hi, "conf": o.Conf, "alternative": alt.String()})
		},
	}
	o.addFlags(c, false)
	return c
}

type twoFileOptions struct {
	A, B string
	B2   int
	Seed uint64
}

func (o *twoFileOptions) addFlags(c *cobra.Command, what string) {
	c.Flags().StringVar(&o.A, "a", "", "file with sample a, "+what+" per line (required)")
	c.Flags().StringVar(&o.B, "b", "", "file with sample b, "+what+" per line (required)")
}

func newStatsTableCmd(s *streams, name, short string, test func(a, b []string, resamples int, rng *rand.Rand) (stats.TableResult, error)) *cobra.Command {
	o := &twoFileOptions{}
	c := &cobra.Command{
		Use:   name + " --a FILE --b FILE [--monte-carlo B --seed S]",
		Short: short,
		Long: short + `.

Samples are files of labels, one per line. With --monte-carlo B the p-value is
(1 + #{T* >= T})/(B + 1) over B tables with the observed margins, seeded by --seed.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			a, err := readLabels(o.A)
			if err != nil {
				return err
			}
			b, err := readLabels(o.B)
			if err != nil {
				return err
			}
			if o.B2 < 0 {
				return usageErrorf("--monte-carlo must be positive")
			}
			r, err := test(a, b, o.B2, rand.New(rand.NewPCG(o.Seed, 0x7374617473)))
			if err != nil {
				return err
			}
			return writeJSON(s.Out, map[string]any{"test": name, "method": r.Method, "statistic": r.Statistic, "df": r.DF,
				"p_value": r.PValue, "monte_carlo": r.MonteCarlo, "categories": r.Categories, "table": r.Table, "warnings": nonNil(r.Warnings)})
		},
	}
	o.addFlags(c, "one label")
	c.Flags().IntVar(&o.B2, "monte-carlo", 0, "Monte-Carlo p-value with this many resamples (0: asymptotic chi-square)")
	c.Flags().Uint64Var(&o.Seed, "seed", 1, "seed of the Monte-Carlo resamples")
	return c
}

func nonNil(w []string) []string {
	if w == nil {
		return []string{}
	}
	return w
}

func newStatsFisherCmd(s *streams) *cobra.Command {
	o := &twoFileOptions{}
	c := &cobra.Command{
		Use:   "fisher --a FILE --b FILE",
		Short: "Fisher's exact test on the 2×k table of two label samples (R's two-sided rule)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			a, err := readLabels(o.A)
			if err != nil {
				return err
			}
			b, err := readLabels(o.B)
			if err != nil {
				return err
			}
			r, err := stats.FisherLabels(a, b)
			if err != nil {
				return err
			}
			return writeJSON(s.Out, map[string]any{"test": "fisher", "method": r.Method, "p_value": r.PValue})
		},
	}
	o.addFlags(c, "one label")
	return c
}

func newStatsMcNemarCmd(s *streams) *cobra.Command {
	o := &twoFileOptions{}
	var method string
	c := &cobra.Command{
		Use:   "mcnemar --a FILE --b FILE [--method exact|midp|asymptotic]",
		Short: "McNemar's test on paired 0/1 outcomes (line i of a pairs with line i of b)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			m, ok := map[string]stats.McNemarMethod{"asymptotic": stats.McNemarAsymptotic, "exact": stats.McNemarExact, "midp": stats.McNemarMidP}[method]
			if !ok {
				return usageErrorf("--method must be exact, midp or asymptotic, got %q", method)
			}
			a, err := readNumbers(o.A)
			if err != nil {
				return err
			}
			b, err := readNumbers(o.B)
			if err != nil {
				return err
			}
			r, err := stats.McNemar(a, b, m)
			if err != nil {
				return err
			}
			return writeJSON(s.Out, map[string]any{"test": "mcnemar", "method": r.Method, "statistic": r.Statistic, "p_value": r.PValue,
				"b": r.B, "c": r.C, "warnings": nonNil(r.Warnings)})
		},
	}
	o.addFlags(c, "0 or 1")
	c.Flags().StringVar(&method, "method", "asymptotic", "exact, midp or asymptotic (chi-square with continuity correction, as R)")
	return c
}

func newStatsAdjustCmd(s *streams, name, short string, f func([]float64) ([]float64, error)) *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   name + " --p FILE",
		Short: short + " (as R's p.adjust)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			p, err := readNumbers(file)
			if err != nil {
				return err
			}
			adj, err := f(p)
			if err != nil {
				return err
			}
			return writeJSON(s.Out, map[string]any{"test": name, "method": short, "adjusted": adj})
		},
	}
	c.Flags().StringVar(&file, "p", "", "file of p-values, one per line (required)")
	return c
}

func newStatsTOSTMeanCmd(s *streams) *cobra.Command {
	o := &twoFileOptions{}
	var margin float64
	var paired bool
	c := &cobra.Command{
		Use:   "tost-mean --a FILE --b FILE --margin M [--paired]",
		Short: "Equivalence of two means within ±M by two one-sided t-tests (Welch, or paired)",
		Long: `Two one-sided tests (TOST): H0 says |mean(a) − mean(b)| >= M. A small p_value
(the larger of the two one-sided p-values) establishes equivalence within ±M.
Welch t-tests, or paired t-tests with --paired.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			a, err := readNumbers(o.A)
			if err != nil {
				return err
			}
			b, err := readNumbers(o.B)
			if err != nil {
				return err
			}
			r, err := stats.TOSTMean(a, b, margin, paired)
			if err != nil {
				return err
			}
			return writeJSON(s.Out, map[string]any{"test": "tost-mean", "method": r.Method, "estimate": r.Estimate, "margin": r.Margin,
				"p_lower": r.PLower, "p_upper": r.PUpper, "p_value": r.PValue, "df": r.DF})
		},
	}
	o.addFlags(c, "one number")
	c.Flags().Float64Var(&margin, "margin", 0, "equivalence margin M > 0 (required)")
	c.Flags().BoolVar(&paired, "paired", false, "paired samples")
	return c
}

func newStatsTOSTPropCmd(s *streams) *cobra.Command {
	var k, n int
	var p0, margin float64
	c := &cobra.Command{
		Use:   "tost-prop --successes K --trials N --p0 P --margin M",
		Short: "Equivalence of a proportion to P within ±M by two exact one-sided binomial tests",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if k < 0 || n < 1 {
				return usageErrorf("--successes K and --trials N are required")
			}
			r, err := stats.TOSTProportion(k, n, p0, margin)
			if err != nil {
				return err
			}
			return writeJSON(s.Out, map[string]any{"test": "tost-prop", "method": r.Method, "estimate": r.Estimate, "margin": r.Margin,
				"p_lower": r.PLower, "p_upper": r.PUpper, "p_value": r.PValue})
		},
	}
	c.Flags().IntVar(&k, "successes", -1, "number of successes K (required)")
	c.Flags().IntVar(&n, "trials", 0, "number of trials N (required)")
	c.Flags().Float64Var(&p0, "p0", 0.5, "the proportion to be equivalent to")
	c.Flags().Float64Var(&margin, "margin", 0, "equivalence margin M > 0 (required)")
	return c
}

func newStatsPowerCmd(s *streams) *cobra.Command {
	var test string
	var p0, p1, p2, p10, p01, n, power, alpha, eps float64
	c := &cobra.Command{
		Use:   "power --test two-proportions|one-proportion|mcnemar|zero-failure [flags]",
		Short: "Power, or the sample size that reaches a power",
		Long: `Power and sample size, two-sided at --alpha:
  two-proportions --p1 --p2     per-group n (as R's power.prop.test)
  one-proportion  --p0 --p1     n for the z-test of H0: p = p0 when p = p1
  mcnemar         --p10 --p01   pairs, from the discordant probabilities (Connor 1987)
  zero-failure    --epsilon     runs without a failure to bound the failure rate
                                below epsilon: n >= ln(alpha) / ln(1 - epsilon)
Give --n to get the power, or --power to get the sample size.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			out := map[string]any{"test": "power", "kind": test, "alpha": alpha}
			haveN := c.Flags().Changed("n")
			if test != "zero-failure" && haveN == c.Flags().Changed("power") {
				return usageErrorf("give exactly one of --n and --power")
			}
			switch test {
			case "zero-failure":
				k, err := stats.ZeroFailureN(eps, alpha)
				if err != nil {
					return err
				}
				out["n"], out["epsilon"], out["method"] = k, eps, "zero-failure rule n >= ln(alpha)/ln(1-epsilon)"
			case "two-proportions", "one-proportion", "mcnemar":
				var pw func(n float64) (float64, error)
				var size func() (stats.PowerResult, error)
				out["method"] = map[string]string{
					"two-proportions": "Two-sample comparison of proportions power calculation (R power.prop.test)",
					"one-proportion":  "One-sample z-test of a proportion, normal approximation",
					"mcnemar":         "McNemar test, Connor (1987) normal approximation",
				}[test]
				switch test {
				case "two-proportions":
					pw = func(n float64) (float64, error) { return stats.PowerTwoProportions(n, p1, p2, alpha) }
					size = func() (stats.PowerResult, error) { return stats.SampleSizeTwoProportions(p1, p2, alpha, power) }
				case "one-proportion":
					pw = func(n float64) (float64, error) { return stats.PowerOneProportion(n, p0, p1, alpha) }
					size = func() (stats.PowerResult, error) { return stats.SampleSizeOneProportion(p0, p1, alpha, power) }
				default:
					pw = func(n float64) (float64, error) { return stats.PowerMcNemar(n, p10, p01, alpha) }
					size = func() (stats.PowerResult, error) { return stats.SampleSizeMcNemar(p10, p01, alpha, power) }
				}
				if haveN {
					v, err := pw(n)
					if err != nil {
						return err
					}
					out["n"], out["power"] = n, v
				} else {
					r, err := size()
					if err != nil {
						return err
					}
					out["n"], out["power"], out["method"] = r.N, r.Power, r.Method
				}
			default:
				return usageErrorf("--test must be two-proportions, one-proportion, mcnemar or zero-failure, got %q", test)
			}
			return writeJSON(s.Out, out)
		},
	}
	f := c.Flags()
	f.StringVar(&test, "test", "two-proportions", "two-proportions, one-proportion, mcnemar or zero-failure")
	f.Float64Var(&p0, "p0", 0.5, "null proportion (one-proportion)")
	f.Float64Var(&p1, "p1", 0.5, "proportion 1")
	f.Float64Var(&p2, "p2", 0.5, "proportion 2 (two-proportions)")
	f.Float64Var(&p10, "p10", 0.1, "probability of a (1,0) pair (mcnemar)")
	f.Float64Var(&p01, "p01", 0.1, "probability of a (0,1) pair (mcnemar)")
	f.Float64Var(&n, "n", 0, "sample size (per group for two-proportions; pairs for mcnemar)")
	f.Float64Var(&power, "power", 0.8, "target power")
	f.Float64Var(&alpha, "alpha", 0.05, "significance level")
	f.Float64Var(&eps, "epsilon", 0.01, "failure rate bound (zero-failure)")
	return c
}

func newStatsSPRTCmd(s *streams) *cobra.Command {
	var p0, p1, alpha, beta float64
	var file string
	c := &cobra.Command{
		Use:   "sprt --p0 P0 --p1 P1 --data FILE [--alpha A --beta B]",
		Short: "Wald's sequential probability ratio test on a stream of 0/1 outcomes",
		Long: `Wald's SPRT for a Bernoulli rate, H0: p = P0 against H1: p = P1, reading 0/1
outcomes (one per line) in order and stopping at the first decision.
Prints the decision ("accept H0", "accept H1" or "continue"), the number of
observations used, the log-likelihood ratio and Wald's bounds.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			xs, err := readNumbers(file)
			if err != nil {
				return err
			}
			t, err := stats.NewSPRT(p0, p1, alpha, beta)
			if err != nil {
				return err
			}
			if _, _, err := t.Run(xs); err != nil {
				return usageErrorf("%s: %v", file, err)
			}
			lo, hi := t.Bounds()
			return writeJSON(s.Out, map[string]any{"test": "sprt", "method": "Wald's SPRT (Bernoulli)", "decision": t.Decision.String(),
				"n": t.N, "successes": t.Successes, "llr": t.LLR, "lower_bound": lo, "upper_bound": hi})
		},
	}
	c.Flags().Float64Var(&p0, "p0", 0.99, "rate under H0")
	c.Flags().Float64Var(&p1, "p1", 0.95, "rate under H1")
	c.Flags().Float64Var(&alpha, "alpha", 0.05, "type I error")
	c.Flags().Float64Var(&beta, "beta", 0.1, "type II error")
	c.Flags().StringVar(&file, "data", "", "file of 0/1 outcomes, one per line (required)")
	return c
}

func newStatsCSCmd(s *streams) *cobra.Command {
	var k, n int
	var alpha, a, b float64
	c := &cobra.Command{
		Use:   "cs --successes K --trials N [--alpha A]",
		Short: "Anytime-valid confidence sequence for a proportion (beta-binomial mixture)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if k < 0 || n < 0 {
				return usageErrorf("--successes and --trials are required")
			}
			lo, hi, err := stats.BetaBinomialCS(k, n, alpha, a, b)
			if err != nil {
				return err
			}
			return writeJSON(s.Out, map[string]any{"test": "cs", "method": "beta-binomial mixture confidence sequence (Howard et al. 2021)",
				"lower": lo, "upper": hi, "alpha": alpha})
		},
	}
	c.Flags().IntVar(&k, "successes", -1, "successes so far (required)")
	c.Flags().IntVar(&n, "trials", -1, "trials so far (required)")
	c.Flags().Float64Var(&alpha, "alpha", 0.05, "error probability over all looks")
	c.Flags().Float64Var(&a, "prior-a", 1, "Beta mixing prior, first parameter")
	c.Flags().Float64Var(&b, "prior-b", 1, "Beta mixing prior, second parameter")
	return c
}
