// Package replay replays decision records in three steps. Prepare verifies
// a record against the artifact store once (nothing runs on a failure),
// reads its input and reference outputs and prepares its system check (the
// record's pinned eval suite, which cmd wires in as an evals.Checker: replay
// does not import evals). Run takes a started session that launch lent the
// caller (of the record's own system, or of another) and runs on it the
// system check, the pinned seed (run a second time when it did not give
// back the stored output: the seed probe, verdict.SeedProbe), and the fresh
// seeds derived from a replay
// seed (N of them, or until the sequential stopping rule verdict.Decide
// settles it), journaling each run the moment it completes. Decide asks
// verdict for the verdict, with every piece of evidence a check that votes.
// Replay is the three on a session of its own. Batch replays a sequence of
// records with one policy: where reports go, the locked folder and the run
// journal that survives a kill, sessions from one launch.Pool (one per
// record, or one per system with Share).
//
// It declares the small interfaces it needs (Runner, Blobs, SystemChecker)
// and leaves exit codes to its caller.
package replay
