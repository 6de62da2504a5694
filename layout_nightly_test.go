package reprise

// The import rules of the nightly packages, kept beside the allow-list so
// its table stays as reviewed: ingest reads decision logs into records;
// replay/nightly replays samples of them; cmd uses both.
func init() {
	allowed["ingest"] = []string{"digest", "output", "system", "store", "record"}
	allowed["replay/nightly"] = []string{"digest", "output", "system", "store", "record", "runners", "launch", "verdict", "stats", "replay", "ingest"}
	allowed["cmd"] = append(allowed["cmd"], "ingest")
}
