"""Reference values for stats/{ks,mannwhitney,anderson,energy}_test.go from SciPy.

    /usr/bin/python3 stats/testdata/ref_samples.py > stats/testdata/ref_samples_scipy.out

Each case is a SciPy call on literal data; the script evaluates exactly that
text and prints one Go table row with the call, the data and the results at
full precision (repr). Generated with SciPy 1.10.1 (Debian python3-scipy).
"""
import warnings

import numpy as np
from scipy import stats  # noqa: F401  (used by the evaluated calls)

warnings.simplefilter("ignore")
rng = np.random.default_rng(20240611)


def r2(x):
    return [float(f"{v:.2f}") for v in x]


def lit(x):
    return "[" + ", ".join(repr(float(v)) for v in x) + "]"


def golit(x):
    return "[]float64{" + ", ".join(repr(float(v)) for v in x) + "}"


rows = []


def two(test, alt, method, call, a, b, tol):
    r = eval(call)
    stat = float(r[0])
    p = float(r[1])
    rows.append(
        '{test: "%s", call: `%s`, a: %s, b: %s, alt: %s, method: %s, stat: %r, p: %r, tol: %g},'
        % (test, call, golit(a), golit(b), alt, method, stat, p, tol))


ALT = {"two-sided": "TwoSided", "less": "Less", "greater": "Greater"}

# --- ks_2samp, exact (no ties: SciPy's exact distribution ignores ties) ---
x = r2(rng.normal(size=9)); y = r2(rng.normal(1.0, size=11))
y[5] += 0.005  # no ties at all: SciPy's exact distribution ignores ties
assert len(set(x + y)) == len(x + y)
for alt in ["two-sided", "less", "greater"]:
    two("ks", ALT[alt], "PValueExact",
        f"stats.ks_2samp({lit(x)}, {lit(y)}, alternative='{alt}', method='exact')", x, y, 1e-9)
x = [v + 0.001 for v in range(25)]; y = [v + 100.0 for v in range(25)]  # far tail
two("ks", "TwoSided", "PValueExact", f"stats.ks_2samp({lit(x)}, {lit(y)}, method='exact')", x, y, 1e-9)
x = r2(rng.normal(2.0, size=4)); y = r2(rng.normal(size=50))            # lopsided
two("ks", "TwoSided", "PValueExact", f"stats.ks_2samp({lit(x)}, {lit(y)}, method='exact')", x, y, 1e-9)
x = [v / 3 + 0.01 for v in range(40)]; y = [v / 3 + 9.0 for v in range(45)]  # far tail, greater
two("ks", "Greater", "PValueExact",
    f"stats.ks_2samp({lit(x)}, {lit(y)}, alternative='greater', method='exact')", x, y, 1e-9)

# --- mannwhitneyu (U of x = R's W) ---
x = r2(rng.normal(size=8)); y = r2(rng.normal(0.8, size=9))
two("mwu", "TwoSided", "PValueExact", f"stats.mannwhitneyu({lit(x)}, {lit(y)}, method='exact')", x, y, 1e-9)
two("mwu", "Greater", "PValueExact",
    f"stats.mannwhitneyu({lit(x)}, {lit(y)}, alternative='greater', method='exact')", x, y, 1e-9)
x = [float(v) for v in rng.integers(0, 5, size=30)]; y = [float(v) for v in rng.integers(1, 6, size=35)]
two("mwu", "TwoSided", "PValueAsymptotic", f"stats.mannwhitneyu({lit(x)}, {lit(y)}, method='asymptotic')", x, y, 1e-9)
two("mwu", "Less", "PValueAsymptotic",
    f"stats.mannwhitneyu({lit(x)}, {lit(y)}, alternative='less', method='asymptotic')", x, y, 1e-9)
x = [v / 7 for v in range(120)]; y = [v / 7 + 13.0 for v in range(90)]  # far tail
two("mwu", "TwoSided", "PValueAsymptotic", f"stats.mannwhitneyu({lit(x)}, {lit(y)}, method='asymptotic')", x, y, 1e-9)

print("// SciPy two-sample rows")
for r in rows:
    print(r)

# --- anderson_ksamp (midrank) ---
print("// SciPy anderson_ksamp rows: statistic, interpolated p (significance_level)")
ad = []
ad.append([r2(rng.normal(size=12)), r2(rng.normal(size=15))])
ad.append([r2(rng.normal(size=20)), r2(rng.normal(0.9, size=18))])
ad.append([[float(v) for v in rng.integers(0, 4, size=16)], [float(v) for v in rng.integers(1, 5, size=14)],
           [float(v) for v in rng.integers(0, 5, size=10)]])  # ties, k = 3
ad.append([r2(rng.normal(size=3)), r2(rng.normal(0.5, size=40))])  # lopsided
ad.append([r2(rng.normal(size=25)), r2(rng.normal(0.3, 1.5, size=25)), r2(rng.normal(size=25)),
           r2(rng.normal(0.6, size=25))])  # k = 4
ad.append([[float(v) for v in range(30)], [v + 100.0 for v in range(30)]])  # floored p
for s in ad:
    call = "stats.anderson_ksamp([" + ", ".join(lit(x) for x in s) + "])"
    r = eval(call)
    print('{call: `%s`, samples: [][]float64{%s}, stat: %r, p: %r},'
          % (call, ", ".join(golit(x) for x in s), float(r.statistic), float(r.significance_level)))

# Permutation p-value of the AD statistic for ad[1], for a loose check.
s = ad[1]
pt = stats.permutation_test(s, lambda *g: stats.anderson_ksamp(g).statistic, permutation_type="independent",
                            alternative="greater", n_resamples=9999, random_state=1, vectorized=False)
print("// stats.permutation_test(ad[1], anderson_ksamp statistic, n_resamples=9999, random_state=1).pvalue")
print("adPermP = %r" % float(pt.pvalue))

# --- energy_distance (1-D): sqrt of the V-statistic energy distance ---
print("// SciPy energy_distance rows")
en = [([0.0, 1.0, 2.0], [0.5, 1.5, 4.0, 4.5]),
      (r2(rng.normal(size=20)), r2(rng.normal(0.7, size=30))),
      ([1.0, 1.0, 2.0, 2.0, 2.0], [1.0, 3.0, 3.0])]
for x, y in en:
    call = f"stats.energy_distance({lit(x)}, {lit(y)})"
    print('{call: `%s`, a: %s, b: %s, dist: %r},' % (call, golit(x), golit(y), float(eval(call))))

# --- Kolmogorov limit distribution (asymptotic KS p-value) ---
print("// scipy.special.kolmogorov rows")
from scipy import special  # noqa: E402
for x in [0.2, 0.5, 0.8, 0.95, 1.0, 1.3, 2.0, 3.5, 6.0]:
    print("{%r, %r}," % (x, float(special.kolmogorov(x))))

# --- bootstrap (loose check: a different random stream) ---
print("// scipy.stats.bootstrap rows (paired differences d = a - b; n_resamples=99999, random_state=1)")
a = r2(rng.exponential(2.0, size=30)); b = r2(rng.exponential(1.0, size=30))
d = [x - y for x, y in zip(a, b)]
for method in ["percentile", "BCa"]:
    call = (f"stats.bootstrap(({lit(d)},), np.mean, confidence_level=0.9, method='{method}', "
            f"n_resamples=99999, random_state=1)")
    ci = eval(call).confidence_interval
    print('{call: `%s`, a: %s, b: %s, method: "%s", lower: %r, upper: %r},'
          % (call, golit(a), golit(b), method.lower(), float(ci.low), float(ci.high)))
