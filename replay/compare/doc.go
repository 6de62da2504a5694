// Package compare measures the impact of a rollout over a decision log: it
// draws a sample of the log as a night does (nightly.DrawSample: the same
// time bounds, CEL --where filter and seeded bottom-k sampler), replays each
// sampled record's input under two systems A and B with the same fresh
// seeds (one shared session per system, through launch's pool), and tells
// how often B decides otherwise.
//
// A decision is a run's label (its text when it answers no label, else its
// score; an error answer is the decision "(error)"). Per record, from the n
// seed-paired runs: each system's modal decision, the probability that B's
// decision differs from A's modal decision and from the stored decision
// (Clopper–Pearson intervals), whether the modal decision flips, and an
// exact paired test of A = B on this input (Flip). Across records: the share
// of decisions whose modal decision flips (Clopper–Pearson), a paired
// permutation test of A = B over every record (the system labels swapped
// within seed pairs; the statistic is the sum of the records' total
// variation distances), McNemar's exact test on whether the modal decisions
// agree with the stored ones as often under B as under A, Benjamini–Hochberg
// over the records' tests, and the remediation list: the records B would
// most likely decide otherwise than stored, most likely first (Finalize).
//
// The verdict is DIFFERENT when the permutation test rejects at Alpha, SAME
// when it does not and the one-sided upper bound of the flip share (at 1 −
// Alpha) is at most Margin, INCONCLUSIVE otherwise (and when nothing was
// compared). A comparison is resumable like a night (a journal in its
// output folder, compare.json fixing what it compares), shards by request
// id (--shard i/n) and merges (Merge) into the comparison the unsharded run
// gives. Reports: results.parquet, report.json, summary.md and report.html
// (WriteReports).
//
// Conditions of the input the caller maps to exit 2: ErrOptions, ErrOut,
// ErrLocked, ErrOther, ErrConfig, ErrShards, and nightly.ErrLog.
package compare
