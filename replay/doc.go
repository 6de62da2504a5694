// Package replay replays decision records. Replay takes one decoded record:
// it verifies its integrity against the artifact store (nothing runs on a
// failure), starts the pinned system through launch (hardware class,
// verified model and config, one session), runs the pinned seed and N fresh
// seeds derived from a replay seed, asks verdict for the verdict, and builds
// the report (report.json, report.md, runs.parquet). When the record pins an
// eval suite and the store holds a run of its system on it (EvalOptions),
// the suite runs first on the same session (evals.Pinned.Reproduce) and is
// one more check of the verdict, reported in the report's eval section. Batch replays a
// sequence of records with one policy: where reports go, the run journal
// that survives a kill, one runner for the whole batch.
//
// It declares the small interfaces it needs (Runner, Blobs) and leaves exit
// codes to its caller.
package replay
