package main

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/stats"
)

// sampleOptions are the flags of the two-sample and paired tests; each
// subcommand registers the ones it uses.
type sampleOptions struct {
	A, B         string
	Samples      []string
	Method       string
	Alternative  string
	Kernel       string
	NGram        int
	Permutations int
	Resamples    int
	Seed         uint64
	Conf         float64
}

// sampleTestJSON is the JSON answer of ks, mwu, wilcoxon, ad, energy and mmd.
type sampleTestJSON struct {
	Test         string   `json:"test"`
	Statistic    float64  `json:"statistic"`
	PValue       float64  `json:"p_value"`
	Method       string   `json:"method"`
	Alternative  string   `json:"alternative,omitempty"`
	Exact        *bool    `json:"exact,omitempty"`
	N            []int    `json:"n"`
	Zeros        *int     `json:"zeros,omitempty"`
	Permutations int      `json:"permutations,omitempty"`
	Seed         *uint64  `json:"seed,omitempty"`
	Kernel       string   `json:"kernel,omitempty"`
	Bandwidth    float64  `json:"bandwidth,omitempty"`
	Extra        any      `json:"details,omitempty"`
	Warnings     []string `json:"warnings"`
}

// bootstrapJSON is the JSON answer of bootstrap.
type bootstrapJSON struct {
	Test      string   `json:"test"`
	Estimate  float64  `json:"estimate"`
	Lower     float64  `json:"lower"`
	Upper     float64  `json:"upper"`
	Conf      float64  `json:"conf"`
	Method    string   `json:"method"`
	Resamples int      `json:"resamples"`
	Seed      uint64   `json:"seed"`
	N         int      `json:"n"`
	Warnings  []string `json:"warnings"`
}

// addStatsSampleCommands adds ks, mwu, ad, energy, mmd, wilcoxon, bootstrap.
func addStatsSampleCommands(parent *cobra.Command, s *streams) {
	parent.AddCommand(
		newSampleCmd(s, "ks", "Two-sample Kolmogorov-Smirnov test (exact or asymptotic)",
			`Two-sample Kolmogorov-Smirnov test of the numbers in --a and --b (one per
line), as R's ks.test: exact (tie-aware) when n_a*n_b < 10000 under
--method auto, else the asymptotic Kolmogorov distribution. "greater" means the
CDF of a lies above that of b. Prints statistic (D), p_value, method.`,
			runStatsKS, "ab", "method", "alternative"),
		newSampleCmd(s, "mwu", "Mann-Whitney U (Wilcoxon rank-sum) test",
			`Mann-Whitney U test of the numbers in --a and --b, as R's wilcox.test(a, b):
statistic is U of sample a (R's W). Exact under --method auto when both samples
have fewer than 50 values and there are no ties, else the normal approximation
with tie and continuity correction. Prints statistic, p_value, method.`,
			runStatsMWU, "ab", "method", "alternative"),
		newSampleCmd(s, "wilcoxon", "Wilcoxon signed-rank test of paired samples",
			`Wilcoxon signed-rank test of the paired differences a[i]-b[i] (--a and --b
line by line), as R's wilcox.test(a, b, paired = TRUE): zero differences are
dropped; statistic is V, the sum of the ranks of the positive differences.
Exact for fewer than 50 differences without ties or zeros, else normal with tie
and continuity correction. Prints statistic, p_value, method.`,
			runStatsWilcoxon, "ab", "method", "alternative"),
		newSampleCmd(s, "ad", "k-sample Anderson-Darling test (permutation p-value)",
			`k-sample Anderson-Darling test (Scholz & Stephens 1987, midrank version) of
the samples in --samples F1,F2[,...]: statistic is the standardized statistic
as scipy.stats.anderson_ksamp reports it; p_value is from --permutations random
relabellings seeded by --seed (0 permutations: SciPy's interpolated p-value,
clipped to [0.001, 0.25]).`,
			runStatsAD, "samples", "permutations", "seed"),
		newSampleCmd(s, "energy", "Energy-distance permutation test (vectors or strings)",
			`Energy-distance permutation test of --a against --b. With --kernel gaussian
(the default) the files hold numbers, one per line, or comma-separated vectors
of one dimension, and distances are Euclidean; with hamming or spectrum the
files hold strings, one per line, and distances are those induced by the
cosine-normalized kernel. statistic is the energy distance (V-statistic);
p_value is (1+#{E*>=E})/(B+1) over --permutations relabellings, seeded.`,
			runStatsEnergy, "ab", "kernel", "permutations", "seed"),
		newSampleCmd(s, "mmd", "Kernel MMD² permutation test (vectors or strings)",
			`Maximum mean discrepancy permutation test of --a against --b: statistic is
the unbiased MMD² with a Gaussian kernel (median-distance bandwidth) on numbers
or comma-separated vectors, or a cosine-normalized Hamming or character n-gram
(spectrum, --ngram) kernel on strings, one per line. p_value is
(1+#{T*>=T})/(B+1) over --permutations relabellings, seeded by --seed.`,
			runStatsMMD, "ab", "kernel", "permutations", "seed"),
		newSampleCmd(s, "bootstrap", "Paired bootstrap confidence interval of the mean difference",
			`Bootstrap confidence interval (--conf, two-sided) for the mean of the paired
differences a[i]-b[i]: --resamples resamples of the pairs seeded by --seed,
then the percentile or BCa interval. Prints estimate, lower, upper, method.`,
			runStatsBootstrap, "ab", "bootmethod", "resamples", "seed", "conf"),
	)
}

// newSampleCmd builds one subcommand with the named flag groups.
func newSampleCmd(s *streams, name, short, long string, run func(*streams, *sampleOptions) error, flags ...string) *cobra.Command {
	o := &sampleOptions{}
	cmd := &cobra.Command{
		Use:   name + " [flags]",
		Short: short,
		Long:  long,
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return run(s, o) },
	}
	f := cmd.Flags()
	for _, g := range flags {
		switch g {
		case "ab":
			f.StringVar(&o.A, "a", "", "file of sample a")
			f.StringVar(&o.B, "b", "", "file of sample b")
		case "samples":
			f.StringSliceVar(&o.Samples, "samples", nil, "comma-separated sample files (at least 2)")
		case "method":
			f.StringVar(&o.Method, "method", "auto", "p-value method: auto, exact or asymptotic")
		case "bootmethod":
			f.StringVar(&o.Method, "method", "bca", "interval: percentile or bca")
		case "alternative":
			f.StringVar(&o.Alternative, "alternative", "two-sided", "alternative: two-sided, less or greater")
		case "kernel":
			f.StringVar(&o.Kernel, "kernel", "gaussian", "kernel: gaussian (numbers or vectors), hamming or spectrum (strings)")
			f.IntVar(&o.NGram, "ngram", 3, "n-gram length of the spectrum kernel")
		case "permutations":
			f.IntVar(&o.Permutations, "permutations", 9999, "number of random permutations")
		case "resamples":
			f.IntVar(&o.Resamples, "resamples", 9999, "number of bootstrap resamples")
		case "seed":
			f.Uint64Var(&o.Seed, "seed", 1, "random seed (results are repeatable for a seed)")
		case "conf":
			f.Float64Var(&o.Conf, "conf", 0.95, "confidence level in (0,1)")
		}
	}
	return cmd
}

func (o *sampleOptions) rng() *rand.Rand {
	return rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
}

func (o *sampleOptions) readAB() ([]float64, []float64, error) {
	if o.A == "" || o.B == "" {
		return nil, nil, usageErrorf("--a and --b are required")
	}
	a, err := readNumbers(o.A)
	if err != nil {
		return nil, nil, err
	}
	b, err := readNumbers(o.B)
	if err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

func (o *sampleOptions) parseMethodAlt() (stats.PValueMethod, stats.Alternative, error) {
	m, err := stats.ParsePValueMethod(o.Method)
	if err != nil {
		return m, 0, usageErrorf("--method must be auto, exact or asymptotic, got %q", o.Method)
	}
	alt, err := stats.ParseAlternative(o.Alternative)
	if err != nil {
		return m, alt, usageErrorf("--alternative must be two-sided, less or greater, got %q", o.Alternative)
	}
	return m, alt, nil
}

func warnings(w []string) []string {
	if w == nil {
		return []string{}
	}
	return w
}

func runStatsKS(s *streams, o *sampleOptions) error {
	m, alt, err := o.parseMethodAlt()
	if err != nil {
		return err
	}
	a, b, err := o.readAB()
	if err != nil {
		return err
	}
	r, err := stats.KolmogorovSmirnov(a, b, alt, m)
	if err != nil {
		return err
	}
	return writeJSON(s.Out, sampleTestJSON{Test: "ks", Statistic: r.Statistic, PValue: r.PValue, Method: r.Method,
		Alternative: alt.String(), Exact: &r.Exact, N: []int{len(a), len(b)}, Warnings: warnings(r.Warnings)})
}

func runStatsMWU(s *streams, o *sampleOptions) error {
	m, alt, err := o.parseMethodAlt()
	if err != nil {
		return err
	}
	a, b, err := o.readAB()
	if err != nil {
		return err
	}
	r, err := stats.MannWhitney(a, b, alt, m)
	if err != nil {
		return err
	}
	return writeJSON(s.Out, sampleTestJSON{Test: "mwu", Statistic: r.Statistic, PValue: r.PValue, Method: r.Method,
		Alternative: alt.String(), Exact: &r.Exact, N: []int{len(a), len(b)}, Warnings: warnings(r.Warnings)})
}

func runStatsWilcoxon(s *streams, o *sampleOptions) error {
	m, alt, err := o.parseMethodAlt()
	if err != nil {
		return err
	}
	a, b, err := o.readAB()
	if err != nil {
		return err
	}
	if len(a) != len(b) {
		return usageErrorf("paired samples need the same number of values: %s has %d, %s has %d", o.A, len(a), o.B, len(b))
	}
	r, err := stats.WilcoxonSignedRank(a, b, alt, m)
	if err != nil {
		return err
	}
	return writeJSON(s.Out, sampleTestJSON{Test: "wilcoxon", Statistic: r.Statistic, PValue: r.PValue, Method: r.Method,
		Alternative: alt.String(), Exact: &r.Exact, N: []int{r.N}, Zeros: &r.Zeros, Warnings: warnings(r.Warnings)})
}

func runStatsAD(s *streams, o *sampleOptions) error {
	if len(o.Samples) < 2 {
		return usageErrorf("--samples needs at least 2 comma-separated files, got %d", len(o.Samples))
	}
	if o.Permutations < 0 {
		return usageErrorf("--permutations must be >= 0, got %d", o.Permutations)
	}
	samples := make([][]float64, len(o.Samples))
	n := make([]int, len(o.Samples))
	for i, f := range o.Samples {
		x, err := readNumbers(f)
		if err != nil {
			return err
		}
		samples[i], n[i] = x, len(x)
	}
	r, err := stats.AndersonDarlingKSample(samples, o.Permutations, o.rng())
	if err != nil {
		return err
	}
	out := sampleTestJSON{Test: "ad", Statistic: r.Statistic, PValue: r.PValue, Method: r.Method, N: n,
		Permutations: r.Permutations, Warnings: warnings(r.Warnings),
		Extra: map[string]any{"a2akn": r.A2, "p_value_interpolated": r.PValueInterpolated, "critical_values": r.CriticalValues}}
	if o.Permutations > 0 {
		out.Seed = &o.Seed
	}
	return writeJSON(s.Out, out)
}

// pairMatrix reads --a and --b for --kernel and builds the kernel matrix
// (vectors: Gaussian; strings: Hamming or spectrum).
func (o *sampleOptions) pairMatrix(distance bool) (*stats.PairMatrix, error) {
	if o.A == "" || o.B == "" {
		return nil, usageErrorf("--a and --b are required")
	}
	if o.Permutations < 1 {
		return nil, usageErrorf("--permutations must be >= 1, got %d", o.Permutations)
	}
	switch o.Kernel {
	case "gaussian":
		a, err := readVectors(o.A)
		if err != nil {
			return nil, err
		}
		b, err := readVectors(o.B)
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
		a, err := readLabels(o.A)
		if err != nil {
			return nil, err
		}
		b, err := readLabels(o.B)
		if err != nil {
			return nil, err
		}
		var k *stats.PairMatrix
		if o.Kernel == "hamming" {
			k, err = stats.HammingKernel(a, b)
		} else {
			if o.NGram < 1 {
				return nil, usageErrorf("--ngram must be >= 1, got %d", o.NGram)
			}
			k, err = stats.SpectrumKernel(a, b, o.NGram)
		}
		if err != nil || !distance {
			return k, err
		}
		return stats.KernelDistances(k), nil
	}
	return nil, usageErrorf("--kernel must be gaussian, hamming or spectrum, got %q", o.Kernel)
}

func runStatsEnergy(s *streams, o *sampleOptions) error { return runPermTest(s, o, "energy") }
func runStatsMMD(s *streams, o *sampleOptions) error    { return runPermTest(s, o, "mmd") }

func runPermTest(s *streams, o *sampleOptions, test string) error {
	p, err := o.pairMatrix(test == "energy")
	if err != nil {
		return err
	}
	var r stats.PermutationResult
	if test == "energy" {
		r, err = stats.EnergyPermutationTest(p, o.Permutations, o.rng())
	} else {
		r, err = stats.MMDPermutationTest(p, o.Permutations, o.rng())
	}
	if err != nil {
		return err
	}
	return writeJSON(s.Out, sampleTestJSON{Test: test, Statistic: r.Statistic, PValue: r.PValue, Method: r.Method,
		N: []int{r.N1, r.N2}, Permutations: r.Permutations, Seed: &o.Seed, Kernel: o.Kernel, Bandwidth: r.Bandwidth,
		Warnings: warnings(r.Warnings)})
}

func runStatsBootstrap(s *streams, o *sampleOptions) error {
	m, err := stats.ParseBootstrapMethod(o.Method)
	if err != nil {
		return usageErrorf("--method must be percentile or bca, got %q", o.Method)
	}
	if !(o.Conf > 0 && o.Conf < 1) {
		return usageErrorf("--conf must be in (0,1), got %v", o.Conf)
	}
	if o.Resamples < 1 {
		return usageErrorf("--resamples must be >= 1, got %d", o.Resamples)
	}
	a, b, err := o.readAB()
	if err != nil {
		return err
	}
	if len(a) != len(b) {
		return usageErrorf("paired samples need the same number of values: %s has %d, %s has %d", o.A, len(a), o.B, len(b))
	}
	r, err := stats.PairedBootstrapMeanDiff(a, b, m, o.Conf, o.Resamples, o.rng())
	if err != nil {
		return err
	}
	return writeJSON(s.Out, bootstrapJSON{Test: "bootstrap", Estimate: r.Estimate, Lower: r.Lower, Upper: r.Upper,
		Conf: r.Conf, Method: r.Method, Resamples: r.Resamples, Seed: o.Seed, N: r.N, Warnings: warnings(r.Warnings)})
}

// readVectors reads a file of numbers, one per line, or of comma-separated
// vectors (one per line, all of one dimension).
func readVectors(path string) ([][]float64, error) {
	lines, err := readLines(path)
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, usageErrorf("%s: no values", path)
	}
	out := make([][]float64, len(lines))
	for i, l := range lines {
		fields := strings.Split(l.text, ",")
		v := make([]float64, len(fields))
		for k, f := range fields {
			x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, usageErrorf("%s:%d: %q is not a finite number", path, l.no, strings.TrimSpace(f))
			}
			v[k] = x
		}
		if i > 0 && len(v) != len(out[0]) {
			return nil, usageErrorf("%s:%d: vector of dimension %d, earlier lines have %d", path, l.no, len(v), len(out[0]))
		}
		out[i] = v
	}
	return out, nil
}
