// Package nightly replays a sample of a decision log in bulk: it selects
// records (a time range, a CEL expression), draws a seeded bottom-k sample
// (uniform, or per system) in two passes over the log (the columns the
// filter reads, then only the drawn rows), groups the records by
// system so one sandboxed session serves all records of a system (and
// hardware class), replays each record as package replay does, and then
// controls the false discovery rate across the night (Benjamini–Hochberg)
// before any record is called DIVERGED.
//
// A night is resumable: each finished record is appended to a journal
// (fsync'ed) in the output folder, and a rerun of the same night skips
// them; the results are computed from the journal, so a resumed night ends
// with the same results as an uninterrupted one. The night is identified by
// the digest of its log's content (a rewritten log neither resumes nor
// merges), and journal lines it does not take as they are (another verdict
// for a journaled request id, a request id outside the sample) are logged
// and counted (JournalCheck). A night that replays no record is
// INCONCLUSIVE, its Reason saying why, in every report. Shards of one night
// (--shard i/n, by system) merge into one night (Merge) with the FDR
// control taken over all of them.
//
// Each record also keeps a randomized conformal p-value over its first
// Options.FleetRuns fresh seeds (ConformalP, uniform when the pinned
// system made the decision), and each system gets a fleet-level
// substitution test of them (Fleet: a one-sided KS test of uniformity and
// Storey's share not explained), which flags a night where another system
// served part of the traffic though no record is significant alone
// (outcome "substitution"). History (ReadHistory) compares finished
// nights: rates and fleet shares over time, tonight against the previous
// nights, and changes of what the server said of itself.
//
// PlanNight draws a night's sample as Run does and says what it would
// replay (Plan), replaying nothing. Run takes a night step by step (its config and sample, the journal, the
// workers over session groups); Finalize decides every record, counts and
// concludes. Publish writes the reports and the GitHub output, Brief is
// what the CLI prints of a night, ProgressWriter shows its progress, and
// DefaultOut names the folder of a night given none. DrawSample, SVG and
// NewPlot let another command (replay/compare) draw a sample and plot as a
// night does.
//
// What is wrong with a night's input is a condition the caller maps (cmd
// to exit 2): ErrOptions, ErrOut, ErrLocked, ErrLog, ErrOtherNight,
// ErrConfig and, for Merge, ErrShards; for ReadHistory, ErrHistory.
//
// It imports replay and everything below it, and ingest.
package nightly
