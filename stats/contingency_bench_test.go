package stats

import (
	"math/rand/v2"
	"testing"
)

// Monte-Carlo p-values of chi-square and G on 10^5 random tables.
//
// Anchors: R 4.2.2 on this 2-core machine, system.time, median of 10 runs
// interleaved with these benchmarks (script in the benchmarks' commit
// message; ref_tables.R prints the same timings):
//
//	chisq.test(matrix(c(12, 7, 5, 9), 2, byrow = TRUE), simulate.p.value = TRUE, B = 1e5)   6.0–6.5 ms
//	chisq.test(matrix(c(10, 12, 8, 5, 7, 15, 9, 11, 12, 8, 14, 16), 3, byrow = TRUE),
//	           simulate.p.value = TRUE, B = 1e5)                                           35.5–39 ms
//
// Goal: at most R's time (issue 13). Measured in the same rounds: chi-square
// 3.5–4.5 ms (2×2) and 26–29 ms (3×4); G 3.6–4.8 ms and 22–23 ms. Before the
// log-factorial table and the two cores: 62 ms and 232 ms (chi-square).
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
// machine, system.time, interleaved with these benchmarks):
//
//	fisher.test(matrix(c(10, 12, 8, 5, 7, 15, 9, 11, 12, 8, 14, 16), 3, byrow = TRUE))         10–12 ms (3×4, N = 127)
//	fisher.test(matrix(c(5, 3, 4, 2, 6, 2, 6, 3, 5, 4, 4, 2, 7, 3, 4, 3, 5, 2, 6, 4,
//	                     6, 4, 5, 3, 3), 5, byrow = TRUE))                                    0.75–0.85 s (5×5, N = 101)
//
// Measured in the same rounds: 9–10 ms and 167–184 ms, both exact (the 5×5
// table is within MaxFisherWork; FisherTable would turn to 10^5 Monte-Carlo
// draws past it). Issue 19 (nodes holding their completions), on the same
// machine under load, go test -bench Fisher -benchtime=10x: 18–22 ms and
// 345–372 ms (the network before: 8–12 ms and 216–237 ms in the same
// rounds); the 5×5 N=82 tables below 282–290 ms and 261–273 ms (both past
// MaxFisherWork before; R: 9.9 s and 1.6 s).
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

// Issue 19, item 15: a 5×5 table with N = 82 (fisherRxC[7], R's
// fisher.test: 9.9 s on this loaded machine), past MaxFisherWork before the
// network held the completions of its small nodes.
func BenchmarkFisherExact5x5N82(b *testing.B) {
	for range b.N {
		if _, err := FisherExact(fisherRxC[7].tab); err != nil {
			b.Fatal(err)
		}
	}
}

// The sparse 5×5 table with N = 82 and cells of 19 and 11 (fisherRxC[8]).
func BenchmarkFisherExact5x5N82Sparse(b *testing.B) {
	for range b.N {
		if _, err := FisherExact(fisherRxC[8].tab); err != nil {
			b.Fatal(err)
		}
	}
}
