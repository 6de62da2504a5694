package statsfile

import (
	"math/rand/v2"
	"slices"

	"github.com/reprise-dev/reprise/stats"
)

// sampleTests are the two-sample, k-sample and paired tests of numbers,
// vectors and strings: ks, mwu, wilcoxon, ad, energy, mmd and bootstrap.
func sampleTests() []Test {
	return slices.Concat(rankTests(), []Test{
		{
			Name: "ad", Use: "--samples F1,F2[,...] [--draws N --seed S]",
			Short: "k-sample Anderson-Darling test (permutation p-value)",
			Long: `k-sample Anderson-Darling test (Scholz & Stephens 1987, midrank version) of
the samples in --samples F1,F2[,...] (numbers, one per line): statistic is the
standardized statistic as scipy.stats.anderson_ksamp reports it; p_value is
from --draws random relabellings seeded by --seed (--draws 0: SciPy's
interpolated p-value, clipped to [0.001, 0.25]).`,
			flags: adFlags, run: runAD,
		},
		{
			Name: "energy", Use: permUse, Short: "Energy-distance permutation test (vectors or strings)",
			Long: `Energy-distance permutation test of --a against --b. With --kernel gaussian
(the default) the files hold numbers, one per line, or comma-separated vectors
of one dimension, and distances are Euclidean; with hamming or spectrum the
files hold strings, one per line, and distances are those induced by the
cosine-normalized kernel. statistic is the energy distance (V-statistic);
p_value is (1+#{E*>=E})/(N+1) over --draws N relabellings, seeded by --seed.`,
			flags: permFlags, run: permTest{"energy", true, stats.EnergyPermutationTest}.run,
		},
		{
			Name: "mmd", Use: permUse, Short: "Kernel MMD² permutation test (vectors or strings)",
			Long: `Maximum mean discrepancy permutation test of --a against --b: statistic is
the unbiased MMD² with a Gaussian kernel (median-distance bandwidth) on numbers
or comma-separated vectors, or a cosine-normalized Hamming or character n-gram
(spectrum, --ngram) kernel on strings, one per line. p_value is
(1+#{T*>=T})/(N+1) over --draws N relabellings, seeded by --seed.`,
			flags: permFlags, run: permTest{"mmd", false, stats.MMDPermutationTest}.run,
		},
		{
			Name: "bootstrap", Use: "--a FILE --b FILE [--method percentile|bca] [--conf C] [--draws N --seed S]",
			Short: "Paired bootstrap confidence interval of the mean difference",
			Long: `Bootstrap confidence interval (--conf, two-sided) for the mean of the paired
differences a[i]-b[i]: --draws resamples of the pairs seeded by --seed, then
the percentile or BCa interval. Prints estimate, lower, upper, method.`,
			flags: bootstrapFlags, run: runBootstrap,
		},
	})
}

// rankTests are the tests of ranks: ks, mwu and wilcoxon.
func rankTests() []Test {
	return []Test{
		{
			Name: "ks", Use: rankUse, Short: "Two-sample Kolmogorov-Smirnov test (exact or asymptotic)",
			Long: `Two-sample Kolmogorov-Smirnov test of the numbers in --a and --b (one per
line), as R's ks.test: exact (tie-aware) when n_a*n_b < 10000 under
--method auto, else the asymptotic Kolmogorov distribution. "greater" means the
CDF of a lies above that of b. Prints statistic (D), p_value, method.`,
			flags: rankFlags, run: rankTest{false, runKS}.run,
		},
		{
			Name: "mwu", Use: rankUse, Short: "Mann-Whitney U (Wilcoxon rank-sum) test",
			Long: `Mann-Whitney U test of the numbers in --a and --b, as R's wilcox.test(a, b):
statistic is U of sample a (R's W). Exact under --method auto when both samples
have fewer than 50 values and there are no ties, else the normal approximation
with tie and continuity correction. Prints statistic, p_value, method.`,
			flags: rankFlags, run: rankTest{false, runMWU}.run,
		},
		{
			Name: "wilcoxon", Use: rankUse, Short: "Wilcoxon signed-rank test of paired samples",
			Long: `Wilcoxon signed-rank test of the paired differences a[i]-b[i] (--a and --b
line by line), as R's wilcox.test(a, b, paired = TRUE): zero differences are
dropped; statistic is V, the sum of the ranks of the positive differences.
Exact for fewer than 50 differences without ties or zeros, else normal with tie
and continuity correction. Prints statistic, p_value, method.`,
			flags: rankFlags, run: rankTest{true, runWilcoxon}.run,
		},
	}
}

// SampleResult is the answer of ks, mwu, wilcoxon, ad, energy and mmd.
type SampleResult struct {
	Head
	Statistic   float64 `json:"statistic"`
	PValue      float64 `json:"p_value"`
	Alternative string  `json:"alternative,omitempty"`
	Exact       *bool   `json:"exact,omitempty"` // ks, mwu, wilcoxon: exact null distribution
	N           []int   `json:"n"`               // sample sizes (wilcoxon: non-zero differences)
	Zeros       *int    `json:"zeros,omitempty"` // wilcoxon: zero differences dropped
	Kernel      string  `json:"kernel,omitempty"`
	Bandwidth   float64 `json:"bandwidth,omitempty"` // Gaussian kernel σ
	DrawInfo
	Details  *ADDetails `json:"details,omitempty"` // ad only
	Warnings []string   `json:"warnings"`
}

// ADDetails are the parts of the Anderson-Darling answer besides the
// standardized statistic.
type ADDetails struct {
	A2AKN              float64    `json:"a2akn"`
	PValueInterpolated float64    `json:"p_value_interpolated"`
	CriticalValues     [7]float64 `json:"critical_values"` // at 25%, 10%, 5%, 2.5%, 1%, 0.5%, 0.1%
}

// rankStat is the statistic of a rankTest on the samples a and b.
type rankStat func(a, b []float64, alt stats.Alternative, m stats.PValueMethod) (SampleResult, error)

// runKS is ks: stats.KolmogorovSmirnovInPlace (the samples were read for
// it alone, so it sorts them without copies).
func runKS(a, b []float64, alt stats.Alternative, m stats.PValueMethod) (SampleResult, error) {
	r, err := stats.KolmogorovSmirnovInPlace(a, b, alt, m)
	return SampleResult{Head: Head{"ks", r.Method}, Statistic: r.Statistic, PValue: r.PValue,
		Exact: &r.Exact, N: []int{len(a), len(b)}, Warnings: r.Warnings}, err
}

// runMWU is mwu: stats.MannWhitney.
func runMWU(a, b []float64, alt stats.Alternative, m stats.PValueMethod) (SampleResult, error) {
	r, err := stats.MannWhitney(a, b, alt, m)
	return SampleResult{Head: Head{"mwu", r.Method}, Statistic: r.Statistic, PValue: r.PValue,
		Exact: &r.Exact, N: []int{len(a), len(b)}, Warnings: r.Warnings}, err
}

// runWilcoxon is wilcoxon: stats.WilcoxonSignedRank.
func runWilcoxon(a, b []float64, alt stats.Alternative, m stats.PValueMethod) (SampleResult, error) {
	r, err := stats.WilcoxonSignedRank(a, b, alt, m)
	return SampleResult{Head: Head{"wilcoxon", r.Method}, Statistic: r.Statistic, PValue: r.PValue,
		Exact: &r.Exact, N: []int{r.N}, Zeros: &r.Zeros, Warnings: r.Warnings}, err
}

// rankTest is ks, mwu or wilcoxon: a test of the numbers in a and b
// (paired line by line when paired) with method and alternative.
type rankTest struct {
	paired bool
	stat   rankStat
}

// rankUse is the synopsis of ks, mwu and wilcoxon.
const rankUse = "--a FILE --b FILE [--method auto|exact|asymptotic] [--alternative A]"

// rankFlags registers the parameters of ks, mwu and wilcoxon.
func rankFlags(p *Params, fs FlagSet) {
	p.addAB(fs, "one number")
	fs.StringVar(&p.Method, "method", "auto", "p-value method: auto, exact or asymptotic")
	p.addAlternative(fs)
}

// run runs t on p.
func (t rankTest) run(p *Params) (any, error) {
	m, err := stats.ParsePValueMethod(p.Method)
	if err != nil {
		return nil, inputErrorf("--method must be auto, exact or asymptotic, got %q", p.Method)
	}
	alt, err := p.alternative()
	if err != nil {
		return nil, err
	}
	var a, b []float64
	if t.paired {
		a, b, err = p.readPaired()
	} else {
		a, b, err = readPair(p, ReadNumbers)
	}
	if err != nil {
		return nil, err
	}
	r, err := t.stat(a, b, alt, m)
	if err != nil {
		return nil, err
	}
	r.Alternative, r.Warnings = alt.String(), warnings(r.Warnings)
	return r, nil
}

// adFlags registers the parameters of ad.
func adFlags(p *Params, fs FlagSet) {
	fs.StringSliceVar(&p.Samples, "samples", nil, "comma-separated sample `FILES`, one number per line (at least 2)")
	p.addDraws(fs, 9999, "permutations of the pooled sample (0: interpolated p-value)")
}

// runAD is ad: stats.AndersonDarlingKSample.
func runAD(p *Params) (any, error) {
	if len(p.Samples) < 2 {
		return nil, inputErrorf("--samples needs at least 2 comma-separated files, got %d", len(p.Samples))
	}
	if err := p.checkDraws(0); err != nil {
		return nil, err
	}
	samples := make([][]float64, len(p.Samples))
	n := make([]int, len(p.Samples))
	for i, f := range p.Samples {
		x, err := ReadNumbers(f)
		if err != nil {
			return nil, err
		}
		samples[i], n[i] = x, len(x)
	}
	r, err := stats.AndersonDarlingKSample(samples, p.Draws, p.rand())
	if err != nil {
		return nil, err
	}
	return SampleResult{Head: Head{"ad", r.Method}, Statistic: r.Statistic, PValue: r.PValue, N: n,
		DrawInfo: p.drawn(r.Permutations), Warnings: warnings(r.Warnings),
		Details: &ADDetails{r.A2, r.PValueInterpolated, r.CriticalValues}}, nil
}

// permTest is energy or mmd: a permutation test on the matrix of distances
// (distance) or kernel values between the samples in a and b.
type permTest struct {
	name     string
	distance bool
	stat     func(*stats.PairMatrix, int, *rand.Rand) (stats.PermutationResult, error)
}

// permUse is the synopsis of energy and mmd.
const permUse = "--a FILE --b FILE [--kernel gaussian|hamming|spectrum] [--ngram K] [--draws N --seed S]"

// permFlags registers the parameters of energy and mmd.
func permFlags(p *Params, fs FlagSet) {
	p.addAB(fs, "one number, vector or string")
	fs.StringVar(&p.Kernel, "kernel", "gaussian", "kernel: gaussian (numbers or vectors), hamming or spectrum (strings)")
	fs.IntVar(&p.NGram, "ngram", 3, "n-gram length of the spectrum kernel")
	p.addDraws(fs, 9999, "random relabellings of the pooled sample")
}

// run runs t on p.
func (t permTest) run(p *Params) (any, error) {
	if err := p.checkDraws(1); err != nil {
		return nil, err
	}
	m, err := p.pairMatrix(t.distance)
	if err != nil {
		return nil, err
	}
	r, err := t.stat(m, p.Draws, p.rand())
	if err != nil {
		return nil, err
	}
	return SampleResult{Head: Head{t.name, r.Method}, Statistic: r.Statistic, PValue: r.PValue,
		N: []int{r.N1, r.N2}, Kernel: p.Kernel, Bandwidth: r.Bandwidth, DrawInfo: p.drawn(r.Permutations),
		Warnings: warnings(r.Warnings)}, nil
}

// pairMatrix reads a and b for kernel and builds the kernel matrix
// (vectors: Gaussian; strings: Hamming or spectrum), or with distance the
// distances (Euclidean, or induced by the kernel).
func (p *Params) pairMatrix(distance bool) (*stats.PairMatrix, error) {
	switch p.Kernel {
	case "gaussian":
		return p.vectorMatrix(distance)
	case "hamming", "spectrum":
		return p.stringMatrix(distance)
	}
	return nil, inputErrorf("--kernel must be gaussian, hamming or spectrum, got %q", p.Kernel)
}

// vectorMatrix is pairMatrix for the Gaussian kernel on vectors.
func (p *Params) vectorMatrix(distance bool) (*stats.PairMatrix, error) {
	a, b, err := readPair(p, ReadVectors)
	if err != nil {
		return nil, err
	}
	if len(a[0]) != len(b[0]) {
		return nil, inputErrorf("vectors of %s have dimension %d, of %s %d", p.A, len(a[0]), p.B, len(b[0]))
	}
	if distance {
		return stats.EuclideanDistances(a, b)
	}
	return stats.GaussianKernel(a, b)
}

// stringMatrix is pairMatrix for the Hamming and spectrum kernels on
// strings.
func (p *Params) stringMatrix(distance bool) (*stats.PairMatrix, error) {
	if p.Kernel == "spectrum" && p.NGram < 1 {
		return nil, inputErrorf("--ngram must be >= 1, got %d", p.NGram)
	}
	a, b, err := readPair(p, ReadLabels)
	if err != nil {
		return nil, err
	}
	var k *stats.PairMatrix
	if p.Kernel == "hamming" {
		k, err = stats.HammingKernel(a, b)
	} else {
		k, err = stats.SpectrumKernel(a, b, p.NGram)
	}
	if err != nil || !distance {
		return k, err
	}
	return stats.KernelDistances(k), nil
}

// BootstrapResult is the answer of bootstrap.
type BootstrapResult struct {
	Head
	Estimate float64 `json:"estimate"` // mean of a[i]-b[i]
	Lower    float64 `json:"lower"`
	Upper    float64 `json:"upper"`
	Conf     float64 `json:"conf"`
	N        int     `json:"n"` // pairs
	DrawInfo
	Warnings []string `json:"warnings"`
}

// bootstrapFlags registers the parameters of bootstrap.
func bootstrapFlags(p *Params, fs FlagSet) {
	p.addAB(fs, "one number")
	fs.StringVar(&p.Method, "method", "bca", "interval: percentile or bca")
	p.addConf(fs)
	p.addDraws(fs, 9999, "bootstrap resamples of the pairs")
}

// runBootstrap is bootstrap: stats.PairedBootstrapMeanDiff.
func runBootstrap(p *Params) (any, error) {
	m, err := stats.ParseBootstrapMethod(p.Method)
	if err != nil {
		return nil, inputErrorf("--method must be percentile or bca, got %q", p.Method)
	}
	if !(p.Conf > 0 && p.Conf < 1) {
		return nil, inputErrorf("--conf must be in (0,1), got %v", p.Conf)
	}
	if err := p.checkDraws(1); err != nil {
		return nil, err
	}
	a, b, err := p.readPaired()
	if err != nil {
		return nil, err
	}
	r, err := stats.PairedBootstrapMeanDiff(a, b, m, p.Conf, p.Draws, p.rand())
	if err != nil {
		return nil, err
	}
	return BootstrapResult{Head{"bootstrap", r.Method}, r.Estimate, r.Lower, r.Upper, r.Conf, r.N,
		p.drawn(r.Resamples), warnings(r.Warnings)}, nil
}
