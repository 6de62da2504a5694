// Package evals will hold eval suites: content-addressed suites, scorers,
// running a system on a suite, re-scoring old versions and comparing them
// (see DESIGN.md). It is empty until the eval-suite issue lands; the folder
// exists so the layout of DESIGN.md holds and the import-graph test guards it
// (evals may import everything below replay: see layout_test.go).
package evals
