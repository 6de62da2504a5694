// Package stats holds the pure statistics reprise decides with: tests of
// proportions and contingency tables, two-sample tests of numbers, kernel
// two-sample tests for vectors and text, paired comparisons, equivalence and
// sequential rules, multiple-testing corrections, and power.
//
// Every function is pure: no I/O, no global state. Randomness (Monte-Carlo,
// permutation and bootstrap p-values) comes in as a seeded *rand.Rand, so a
// result is repeatable. Bad data is reported with the sentinel errors below,
// never a panic. Each test returns a documented result struct holding the
// statistic, the p-value, the method used and any warnings.
//
// The package imports only the standard library and gonum; its tests carry the
// R or SciPy call that produced each expected value.
package stats
