# Reference values of stats.KSUniform and stats.StoreyPi0 (uniformity_test.go).
# Run with SciPy 1.10.1: /usr/bin/python3 stats/testdata/ref_uniformity.py
# The samples: x_i = frac((i+1)·0.618033988749895), p_i = x_i^e, i < n.
from scipy import stats
import math

def sample(n, e):
    out = []
    for i in range(n):
        x = math.fmod((i + 1) * 0.618033988749895, 1.0)
        out.append(x * x if e == 2 else x ** e)
    return out

for n, e in [(10, 1), (50, 2), (200, 1.2), (1000, 1.05), (1000, 1.0), (3, 3)]:
    p = sample(n, e)
    r = stats.kstest(p, "uniform", alternative="greater", method="exact")
    print(f"ks n={n} e={e} D+={r.statistic!r} p={r.pvalue!r}")
# ksone survival function directly
for n, d in [(1000, 0.04), (100, 0.2), (5, 0.5), (2000, 0.01)]:
    print(f"ksone.sf({d}, {n}) = {stats.ksone.sf(d, n)!r}")
# Storey: mean(p >= 0.5)/(1 - 0.5) and the Clopper-Pearson interval of #{p >= 0.5}
for n, e in [(200, 1.2), (1000, 1.05), (1000, 2)]:
    p = sample(n, e)
    k = sum(v >= 0.5 for v in p)
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    print(f"storey n={n} e={e} above={k} pi0={min(1, k / (n * 0.5))!r} lo={max(0, 1 - ci.high / 0.5)!r} hi={max(0, 1 - ci.low / 0.5)!r}")
