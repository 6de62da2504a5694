package stats

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// MaxFisherWork is the default bound on the work of FisherExact on an r×c
// table: the steps the network algorithm takes (arcs followed, pasts
// carried, completions built and merged; about 0.1 µs each on one core, so
// about half a second). Past it, FisherExact returns a *FisherWorkError and
// FisherTable turns to Monte-Carlo; FisherExactLimit and FisherTableLimit
// take another bound.
const MaxFisherWork = 5_000_000

// FisherMonteCarlo is Fisher's exact test with a Monte-Carlo p-value, as R's
// fisher.test(simulate.p.value = TRUE, B = b): (1 + #{tables no more
// probable than the observed one})/(b + 1) over b random tables with the
// observed margins, drawn as ChiSquareTable's. StdErr is the p-value's
// standard error, √(p(1−p)/b). The same rng state gives the same p-value
// whatever GOMAXPROCS.
//
// Errors: as ChiSquareTable, and ErrDomain when b < 1 or rng is nil.
func FisherMonteCarlo(t [][]float64, b int, rng *rand.Rand) (FisherResult, error) {
	rows, cols, total, err := tableMargins(t)
	if err != nil {
		return FisherResult{}, err
	}
	if b < 1 || rng == nil {
		return FisherResult{}, fmt.Errorf("%w: a Monte-Carlo p-value needs b >= 1 draws and a random source", ErrDomain)
	}
	if total > tableMaxMonteCarloN {
		return FisherResult{}, fmt.Errorf("%w: Monte-Carlo p-value for %g observations (at most %g)", ErrMethod, total, float64(tableMaxMonteCarloN))
	}
	ge := tableMonteCarlo(t, rows, cols, total, b, rng, fisherKernel)
	p := float64(1+ge) / float64(b+1)
	return FisherResult{
		PValue: p, StdErr: math.Sqrt(p * (1 - p) / float64(b)), MonteCarlo: b,
		Method: fmt.Sprintf("Fisher's exact test (%d×%d) with Monte-Carlo p-value (%d random tables with the observed margins)", len(rows), len(cols), b),
	}, nil
}

// FisherTable is FisherTableLimit with the default work limit,
// MaxFisherWork.
func FisherTable(t [][]float64, b int, rng *rand.Rand) (FisherResult, error) {
	return FisherTableLimit(t, b, rng, MaxFisherWork)
}

// FisherTableLimit is FisherExactLimit(t, maxWork) when the exact test takes
// at most maxWork steps, and otherwise, with b > 0, FisherMonteCarlo with b
// draws from rng and a warning naming the work limit.
//
// Errors: as FisherExactLimit (a *FisherWorkError when too large and b <=
// 0), and as FisherMonteCarlo.
func FisherTableLimit(t [][]float64, b int, rng *rand.Rand, maxWork int) (FisherResult, error) {
	r, err := FisherExactLimit(t, maxWork)
	var we *FisherWorkError
	if err == nil || !errors.As(err, &we) || b <= 0 {
		return r, err
	}
	mc, err := FisherMonteCarlo(t, b, rng)
	if err != nil {
		return mc, err
	}
	mc.Warnings = append(mc.Warnings, fmt.Sprintf("the exact test would take more than %d steps (the work limit): the p-value is Monte-Carlo (standard error %.2g)", maxWork, mc.StdErr))
	return mc, nil
}
