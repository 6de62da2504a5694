package main

import (
	"math/rand/v2"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/stats"
)

// sampleVerbs are the two-sample, k-sample and paired tests of numbers,
// vectors and strings: ks, mwu, wilcoxon, ad, energy, mmd and bootstrap.
func sampleVerbs() []statsVerb {
	return []statsVerb{
		rankVerb("ks", "Two-sample Kolmogorov-Smirnov test (exact or asymptotic)",
			`Two-sample Kolmogorov-Smirnov test of the numbers in --a and --b (one per
line), as R's ks.test: exact (tie-aware) when n_a*n_b < 10000 under
--method auto, else the asymptotic Kolmogorov distribution. "greater" means the
CDF of a lies above that of b. Prints statistic (D), p_value, method.`,
			false, func(a, b []float64, alt stats.Alternative, m stats.PValueMethod) (sampleResult, error) {
				r, err := stats.KolmogorovSmirnov(a, b, alt, m)
				return sampleResult{statsHead: statsHead{"ks", r.Method}, Statistic: r.Statistic, PValue: r.PValue,
					Exact: &r.Exact, N: []int{len(a), len(b)}, Warnings: r.Warnings}, err
			}),
		rankVerb("mwu", "Mann-Whitney U (Wilcoxon rank-sum) test",
			`Mann-Whitney U test of the numbers in --a and --b, as R's wilcox.test(a, b):
statistic is U of sample a (R's W). Exact under --method auto when both samples
have fewer than 50 values and there are no ties, else the normal approximation
with tie and continuity correction. Prints statistic, p_value, method.`,
			false, func(a, b []float64, alt stats.Alternative, m stats.PValueMethod) (sampleResult, error) {
				r, err := stats.MannWhitney(a, b, alt, m)
				return sampleResult{statsHead: statsHead{"mwu", r.Method}, Statistic: r.Statistic, PValue: r.PValue,
					Exact: &r.Exact, N: []int{len(a), len(b)}, Warnings: r.Warnings}, err
			}),
		rankVerb("wilcoxon", "Wilcoxon signed-rank test of paired samples",
			`Wilcoxon signed-rank test of the paired differences a[i]-b[i] (--a and --b
line by line), as R's wilcox.test(a, b, paired = TRUE): zero differences are
dropped; statistic is V, the sum of the ranks of the positive differences.
Exact for fewer than 50 differences without ties or zeros, else normal with tie
and continuity correction. Prints statistic, p_value, method.`,
			true, func(a, b []float64, alt stats.Alternative, m stats.PValueMethod) (sampleResult, error) {
				r, err := stats.WilcoxonSignedRank(a, b, alt, m)
				return sampleResult{statsHead: statsHead{"wilcoxon", r.Method}, Statistic: r.Statistic, PValue: r.PValue,
					Exact: &r.Exact, N: []int{r.N}, Zeros: &r.Zeros, Warnings: r.Warnings}, err
			}),
		{
			name: "ad", use: "--samples F1,F2[,...] [--draws N --seed S]",
			short: "k-sample Anderson-Darling test (permutation p-value)",
			long: `k-sample Anderson-Darling test (Scholz & Stephens 1987, midrank version) of
the samples in --samples F1,F2[,...] (numbers, one per line): statistic is the
standardized statistic as scipy.stats.anderson_ksamp reports it; p_value is
from --draws random relabellings seeded by --seed (--draws 0: SciPy's
interpolated p-value, clipped to [0.001, 0.25]).`,
			flags: func(o *statsOptions, c *cobra.Command) {
				c.Flags().StringSliceVar(&o.Samples, "samples", nil, "comma-separated sample `FILES`, one number per line (at least 2)")
				o.addDraws(c, 9999, "permutations of the pooled sample (0: interpolated p-value)")
			},
			run: runStatsAD,
		},
		permVerb("energy", "Energy-distance permutation test (vectors or strings)",
			`Energy-distance permutation test of --a against --b. With --kernel gaussian
(the default) the files hold numbers, one per line, or comma-separated vectors
of one dimension, and distances are Euclidean; with hamming or spectrum the
files hold strings, one per line, and distances are those induced by the
cosine-normalized kernel. statistic is the energy distance (V-statistic);
p_value is (1+#{E*>=E})/(N+1) over --draws N relabellings, seeded by --seed.`,
			true, stats.EnergyPermutationTest),
		permVerb("mmd", "Kernel MMD² permutation test (vectors or strings)",
			`Maximum mean discrepancy permutation test of --a against --b: statistic is
the unbiased MMD² with a Gaussian kernel (median-distance bandwidth) on numbers
or comma-separated vectors, or a cosine-normalized Hamming or character n-gram
(spectrum, --ngram) kernel on strings, one per line. p_value is
(1+#{T*>=T})/(N+1) over --draws N relabellings, seeded by --seed.`,
			false, stats.MMDPermutationTest),
		{
			name: "bootstrap", use: "--a FILE --b FILE [--method percentile|bca] [--conf C] [--draws N --seed S]",
			short: "Paired bootstrap confidence interval of the mean difference",
			long: `Bootstrap confidence interval (--conf, two-sided) for the mean of the paired
differences a[i]-b[i]: --draws resamples of the pairs seeded by --seed, then
the percentile or BCa interval. Prints estimate, lower, upper, method.`,
			flags: func(o *statsOptions, c *cobra.Command) {
				o.addAB(c, "one number")
				c.Flags().StringVar(&o.Method, "method", "bca", "interval: percentile or bca")
				o.addConf(c)
				o.addDraws(c, 9999, "bootstrap resamples of the pairs")
			},
			run: runStatsBootstrap,
		},
	}
}

// sampleResult is the answer of ks, mwu, wilcoxon, ad, energy and mmd.
type sampleResult struct {
	statsHead
	Statistic   float64 `json:"statistic"`
	PValue      float64 `json:"p_value"`
	Alternative string  `json:"alternative,omitempty"`
	Exact       *bool   `json:"exact,omitempty"` // ks, mwu, wilcoxon: exact null distribution
	N           []int   `json:"n"`               // sample sizes (wilcoxon: non-zero differences)
	Zeros       *int    `json:"zeros,omitempty"` // wilcoxon: zero differences dropped
	Kernel      string  `json:"kernel,omitempty"`
	Bandwidth   float64 `json:"bandwidth,omitempty"` // Gaussian kernel σ
	drawInfo
	Details  *adDetails `json:"details,omitempty"` // ad only
	Warnings []string   `json:"warnings"`
}

// adDetails are the parts of the Anderson-Darling answer besides the
// standardized statistic.
type adDetails struct {
	A2AKN              float64    `json:"a2akn"`
	PValueInterpolated float64    `json:"p_value_interpolated"`
	CriticalValues     [7]float64 `json:"critical_values"` // at 25%, 10%, 5%, 2.5%, 1%, 0.5%, 0.1%
}

// rankVerb is ks, mwu or wilcoxon: a test of the numbers in --a and --b
// (paired line by line when paired) with --method and --alternative.
func rankVerb(name, short, long string, paired bool, test func(a, b []float64, alt stats.Alternative, m stats.PValueMethod) (sampleResult, error)) statsVerb {
	return statsVerb{
		name: name, use: "--a FILE --b FILE [--method auto|exact|asymptotic] [--alternative A]",
		short: short, long: long,
		flags: func(o *statsOptions, c *cobra.Command) {
			o.addAB(c, "one number")
			c.Flags().StringVar(&o.Method, "method", "auto", "p-value method: auto, exact or asymptotic")
			o.addAlternative(c)
		},
		run: func(o *statsOptions) (any, error) {
			m, err := stats.ParsePValueMethod(o.Method)
			if err != nil {
				return nil, usageErrorf("--method must be auto, exact or asymptotic, got %q", o.Method)
			}
			alt, err := o.alternative()
			if err != nil {
				return nil, err
			}
			var a, b []float64
			if paired {
				a, b, err = o.readPaired()
			} else {
				a, b, err = readPair(o, readNumbers)
			}
			if err != nil {
				return nil, err
			}
			r, err := test(a, b, alt, m)
			if err != nil {
				return nil, err
			}
			r.Alternative, r.Warnings = alt.String(), warnings(r.Warnings)
			return r, nil
		},
	}
}

func runStatsAD(o *statsOptions) (any, error) {
	if len(o.Samples) < 2 {
		return nil, usageErrorf("--samples needs at least 2 comma-separated files, got %d", len(o.Samples))
	}
	if err := o.checkDraws(0); err != nil {
		return nil, err
	}
	samples := make([][]float64, len(o.Samples))
	n := make([]int, len(o.Samples))
	for i, f := range o.Samples {
		x, err := readNumbers(f)
		if err != nil {
			return nil, err
		}
		samples[i], n[i] = x, len(x)
	}
	r, err := stats.AndersonDarlingKSample(samples, o.Draws, o.rand())
	if err != nil {
		return nil, err
	}
	return sampleResult{statsHead: statsHead{"ad", r.Method}, Statistic: r.Statistic, PValue: r.PValue, N: n,
		drawInfo: o.drawn(r.Permutations), Warnings: warnings(r.Warnings),
		Details: &adDetails{r.A2, r.PValueInterpolated, r.CriticalValues}}, nil
}

// permVerb is energy or mmd: a permutation test on the matrix of distances
// (distance) or kernel values between the samples in --a and --b.
func permVerb(name, short, long string, distance bool, test func(*stats.PairMatrix, int, *rand.Rand) (stats.PermutationResult, error)) statsVerb {
	return statsVerb{
		name: name, use: "--a FILE --b FILE [--kernel gaussian|hamming|spectrum] [--ngram K] [--draws N --seed S]",
		short: short, long: long,
		flags: func(o *statsOptions, c *cobra.Command) {
			o.addAB(c, "one number, vector or string")
			c.Flags().StringVar(&o.Kernel, "kernel", "gaussian", "kernel: gaussian (numbers or vectors), hamming or spectrum (strings)")
			c.Flags().IntVar(&o.NGram, "ngram", 3, "n-gram length of the spectrum kernel")
			o.addDraws(c, 9999, "random relabellings of the pooled sample")
		},
		run: func(o *statsOptions) (any, error) {
			if err := o.checkDraws(1); err != nil {
				return nil, err
			}
			p, err := o.pairMatrix(distance)
			if err != nil {
				return nil, err
			}
			r, err := test(p, o.Draws, o.rand())
			if err != nil {
				return nil, err
			}
			return sampleResult{statsHead: statsHead{name, r.Method}, Statistic: r.Statistic, PValue: r.PValue,
				N: []int{r.N1, r.N2}, Kernel: o.Kernel, Bandwidth: r.Bandwidth, drawInfo: o.drawn(r.Permutations),
				Warnings: warnings(r.Warnings)}, nil
		},
	}
}

// pairMatrix reads --a and --b for --kernel and builds the kernel matrix
// (vectors: Gaussian; strings: Hamming or spectrum), or with distance the
// distances (Euclidean, or induced by the kernel).
func (o *statsOptions) pairMatrix(distance bool) (*stats.PairMatrix, error) {
	switch o.Kernel {
	case "gaussian":
		a, b, err := readPair(o, readVectors)
		if err != nil {
			return nil, err
		}
		if len(a[0]) != len(b[0]) {
			return nil, usageErrorf("vectors of %s have dimension %d, of %s %d", o.A, len(a[0]), o.B, len(b[0]))
		}
		if distance {
			return stats.EuclideanDistances(a, b)
		}
		return stats.GaussianKernel(a, b)
	case "hamming", "spectrum":
		if o.Kernel == "spectrum" && o.NGram < 1 {
			return nil, usageErrorf("--ngram must be >= 1, got %d", o.NGram)
		}
		a, b, err := readPair(o, readLabels)
		if err != nil {
			return nil, err
		}
		var k *stats.PairMatrix
		if o.Kernel == "hamming" {
			k, err = stats.HammingKernel(a, b)
		} else {
			k, err = stats.SpectrumKernel(a, b, o.NGram)
		}
		if err != nil || !distance {
			return k, err
		}
		return stats.KernelDistances(k), nil
	}
	return nil, usageErrorf("--kernel must be gaussian, hamming or spectrum, got %q", o.Kernel)
}

// bootstrapResult is the answer of bootstrap.
type bootstrapResult struct {
	statsHead
	Estimate float64 `json:"estimate"` // mean of a[i]-b[i]
	Lower    float64 `json:"lower"`
	Upper    float64 `json:"upper"`
	Conf     float64 `json:"conf"`
	N        int     `json:"n"` // pairs
	drawInfo
	Warnings []string `json:"warnings"`
}

func runStatsBootstrap(o *statsOptions) (any, error) {
	m, err := stats.ParseBootstrapMethod(o.Method)
	if err != nil {
		return nil, usageErrorf("--method must be percentile or bca, got %q", o.Method)
	}
	if !(o.Conf > 0 && o.Conf < 1) {
		return nil, usageErrorf("--conf must be in (0,1), got %v", o.Conf)
	}
	if err := o.checkDraws(1); err != nil {
		return nil, err
	}
	a, b, err := o.readPaired()
	if err != nil {
		return nil, err
	}
	r, err := stats.PairedBootstrapMeanDiff(a, b, m, o.Conf, o.Draws, o.rand())
	if err != nil {
		return nil, err
	}
	return bootstrapResult{statsHead{"bootstrap", r.Method}, r.Estimate, r.Lower, r.Upper, r.Conf, r.N,
		o.drawn(r.Resamples), warnings(r.Warnings)}, nil
}
