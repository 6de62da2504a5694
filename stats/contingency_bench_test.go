package stats

import (
	"math/rand/v2"
	"testing"
)

// Monte-Carlo p-values of chi-square and G on 10^5 random tables.
//
// Anchor (R 4.2.2 on this 2-core machine, median of 5 system.time runs; see
// stats/testdata/ref_tables.R):
//
//	chisq.test(matrix(c(12, 5, 7, 9), 2), simulate.p.value = TRUE, B = 1e5)       ANCHOR2x2
//	chisq.test(matrix(c(3,0,7,1, 2,9,0,4, 0,1,1,12), 3, byrow = TRUE),
//	           simulate.p.value = TRUE, B = 1e5)                                    ANCHOR3x4
//
// The goal is at most R's time (issue 13).
var (
	benchTable2x2 = [][]float64{{12, 7}, {5, 9}}
	benchTable3x4 = [][]float64{{10, 12, 8, 5}, {7, 15, 9, 11}, {12, 8, 14, 16}} // N = 127
)

func benchmarkMonteCarlo(b *testing.B, tab [][]float64, test func([][]float64, int, *rand.Rand) (TableResult, error)) {
	for range b.N {
		if _, err := test(tab, 100000, rand.New(rand.NewPCG(1, 2))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChiSquareMonteCarlo2x2(b *testing.B) {
	benchmarkMonteCarlo(b, benchTable2x2, ChiSquareTable)
}
func BenchmarkChiSquareMonteCarlo3x4(b *testing.B) {
	benchmarkMonteCarlo(b, benchTable3x4, ChiSquareTable)
}
func BenchmarkGTestMonteCarlo2x2(b *testing.B) { benchmarkMonteCarlo(b, benchTable2x2, GTestTable) }
func BenchmarkGTestMonteCarlo3x4(b *testing.B) { benchmarkMonteCarlo(b, benchTable3x4, GTestTable) }

// Fisher's exact test on r×c tables. Anchors (R 4.2.2 on this 2-core
// machine, median of 3 system.time runs, stats/testdata/ref_tables.out):
//
//	fisher.test(matrix(c(10, 12, 8, 5, 7, 15, 9, 11, 12, 8, 14, 16), 3, byrow = TRUE))   0.025–0.046 s (3×4, N = 127)
//	fisher.test(5×5 table of fisherRxC[1], N = 101)                                        3.07 s (exact)
//
// The 5×5 table is beyond MaxFisherWork here, so FisherTable answers it by
// Monte-Carlo with 10^5 draws (as fisher.test(simulate.p.value = TRUE, B = 1e5)).
func BenchmarkFisherExact3x4N127(b *testing.B) {
	for range b.N {
		if _, err := FisherExact(fisherRxC[0].tab); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFisherTable5x5N101(b *testing.B) {
	for range b.N {
		if _, err := FisherTable(fisherRxC[1].tab, 100000, rand.New(rand.NewPCG(1, 2))); err != nil {
			b.Fatal(err)
		}
	}
}
