// Package replay replays decision records: it loads and validates records
// (replay/record), checks their integrity against the artifact store
// (replay/store), checks the hardware class, orchestrates runs through a
// Runner, tests the stored output against the replay distribution with the
// stats package, and writes verdicts and reports.
//
// It declares the small interfaces it needs (Runner) and is the only package
// that ties records, runners and statistics together.
package replay
