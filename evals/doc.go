// Package evals holds eval suites: immutable, content-addressed suites and
// their scorers, running a pinned system on a suite, stored results,
// re-scoring old results onto a new suite, and paired comparisons.
//
// A suite on disk is a folder with suite.json (Spec: name, version,
// description, scorer and its settings, metadata) and items.jsonl (one Item
// per line: id, input in the system's protocol, reference, tags). Pack
// stores both files and a Manifest listing their digests; the manifest's
// digest is the suite digest, which records pin as eval_suite. Any change of
// a byte of either file (an item, a reference, the scorer) changes it.
// LoadDirContext reads both as regular files in the folder (package fsread:
// no symbolic link, FIFO or device) within MaxSpecSize and SuiteLimits.
//
// A run (Run) sends every item Epochs times through one session, with seeds
// SeedFor(run seed, item id, epoch), and scores each answer (ScorerSpec
// documents each rule). Save stores the rows as Parquet and a RunManifest
// (system, suite, seeds, summary) whose digest names the run; runs are keyed
// by (system id, suite digest) through History and never deleted. Compare
// pairs two runs on one suite (McNemar, Wilcoxon, bootstrap, TOST from
// package stats) and refuses runs on different suites (ErrSuiteMismatch).
// RescoreRows re-scores stored outputs whose item input is unchanged.
// FindBaseline and Pinned.Reproduce run a record's pinned suite again and
// compare it with the stored run of its system (replay and evals check use
// them). A run journals each row as it is scored to its RunJournal (a
// journal.Journal of rows, locked while the run lasts: OpenRunJournal,
// RunOptions.Journal) and resumes from it (RunJournal.Resume,
// RunOptions.Resume); RunManifest.Finish summarizes and stores a run.
// ResolveSuite and ResolveRun read the suites and runs a command line
// names; SuiteInfo, RunResult, CheckResult, Comparison and LeakReport print
// themselves as text (WriteText). Leakage scans training datasets (JSONL,
// text, Parquet) for suite items.
//
// evals may import everything below replay (see layout_test.go); it never
// replays or captures.
package evals
