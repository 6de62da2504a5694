// Package nightly replays a sample of a decision log in bulk: it selects
// records (a time range, a CEL expression), draws a seeded reservoir sample
// in one streaming pass (uniform, or per system), groups the records by
// system so one sandboxed session serves all records of a system (and
// hardware class), replays each record as package replay does, and then
// controls the false discovery rate across the night (Benjamini–Hochberg)
// before any record is called DIVERGED.
//
// A night is resumable: each finished record is appended to a journal
// (fsync'ed) in the output folder, and a rerun of the same night skips
// them; the results are computed from the journal, so a resumed night ends
// with the same results as an uninterrupted one. Shards of one night
// (--shard i/n, by system) merge into one night (Merge) with the FDR
// control taken over all of them.
//
// It imports replay and everything below it, and ingest.
package nightly
