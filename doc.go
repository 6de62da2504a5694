// Package reprise is the root of reprise, a reproduction and eval-replay
// harness for AI/ML decisions. The code lives in the packages below; this
// package holds no code, only the test that keeps their import graph in
// the shape of the layout (layout_test.go):
//
//	digest, output     leaves: the Digest type; the normalized Output
//	system             the composite version: System, Artifact, ImageRef, Params, its id
//	store              the content-addressed artifact store (OCI image layout)
//	record             the decision record: types, Validate, the JSON codec
//	runners            lifecycle (docker, process) × wire protocol (codecs: jsonl)
//	stats              pure statistics (standard library and gonum only)
//	verdict            checks of a stored output against replays, and the verdict rules
//	launch             starting a pinned, verified system (shared by replay and evals)
//	capture            building records from their parts, capturing live decisions
//	replay             one record and batches of records: runs, verdicts, reports, journals
//	evals              eval suites
//	cmd/reprise        the CLI: flags, a package call, printing, one table to exit codes
//	fixtures           fixture servers, image recipes, models, records (tests and demo only)
package reprise
