// Package counterfactual answers two questions about one decision record
// that a plain replay does not: would another system decide this input
// differently (Against: the record's input replayed on its own system and
// on another, a two-system test per input, verdict.CompareSystems, at
// fixed sequential looks), and which of several systems did decide it
// (Attribute: the stored output replayed against each candidate, the
// confidence set of the candidates not rejected, family-wise over them).
//
// It takes sessions from a launch.Pool its caller owns (one per system:
// the pool shares them) and runs requests on them through replay.Run; it
// never starts or closes a session. Reports are report.json, report.md and
// runs.parquet (replay's run rows with a system column, the system id).
// It leaves exit codes to its caller.
package counterfactual
