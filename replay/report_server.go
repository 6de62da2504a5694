package replay

import (
	"fmt"
	"slices"
	"strings"

	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/render"
	"github.com/reprise-dev/reprise/runners"
)

// SeedIgnoredFinding is the seed probe's finding when the two runs of the
// pinned seed differ.
const SeedIgnoredFinding = "the server does not honour seed (runs with the pinned seed differed)"

// ConstantFingerprints are system_fingerprint values known to be one
// constant for every model a server serves (and the server that answers
// them): such a fingerprint says which server answered, never which model.
var ConstantFingerprints = map[string]string{"fp_ollama": "Ollama"}

// CutSeeds keeps the low bits of each seed when the system uses only bits
// of them (record.Runtime.SeedBits below 64), so the seeds of runs.parquet
// are the seeds the system used; 0 or 64 bits leave seeds as they are.
func CutSeeds(seeds []int64, bits int) []int64 {
	if bits <= 0 || bits >= 64 {
		return seeds
	}
	for i := range seeds {
		seeds[i] &= 1<<bits - 1
	}
	return seeds
}

// ServerSection compares what the server said about itself at capture
// (the record's runtime.server) with what the replayed server said
// (runners.Info). It is evidence for people, never a vote: a difference
// adds a note, not a verdict.
type ServerSection struct {
	// Recorded is the record's runtime.server; nil when the record has none.
	Recorded *record.Server `json:"recorded,omitempty"`
	// Models, Fingerprints, ModelDigest and ModelDigestFrom are what the
	// replayed server said (runners.Info).
	Models          []string `json:"models,omitempty"`
	Fingerprints    []string `json:"fingerprints,omitempty"`
	ModelDigest     string   `json:"model_digest,omitempty"`
	ModelDigestFrom string   `json:"model_digest_from,omitempty"`
	// Identity says what identifies the served model: "model digest"
	// (the server gave one), "none" (it gave none and its fingerprint is
	// a constant), or "system_fingerprint (the server's build; it need
	// not identify the model)".
	Identity string `json:"identity"`
	// ConstantFingerprint names the server whose constant fingerprint
	// the answers carried (ConstantFingerprints), "" otherwise.
	ConstantFingerprint string `json:"constant_fingerprint,omitempty"`
	// ModelDigestMatch: the recorded and replayed model digests are equal;
	// nil when either is missing.
	ModelDigestMatch *bool `json:"model_digest_match,omitempty"`
	// SeedBits are the low bits of a seed the system uses (64: all).
	SeedBits int `json:"seed_bits"`
	// Concurrency is the number of requests sent at once.
	Concurrency int `json:"concurrency"`
}

// compareServer fills r.Server from the record and the session's info,
// marks a seed probe whose runs differed, and adds the notes they call for.
func (r *Report) compareServer(rec *record.Record, in runners.Info) {
	s := &ServerSection{Recorded: rec.Runtime.Server, Models: in.ServedModels, Fingerprints: in.Fingerprints,
		ModelDigest: in.ModelDigest, ModelDigestFrom: in.ModelDigestFrom, SeedBits: rec.Runtime.SeedBits, Concurrency: in.Concurrency}
	if s.SeedBits == 0 {
		s.SeedBits = record.MaxSeedBits
	}
	fps := slices.Clone(in.Fingerprints)
	if rs := rec.Runtime.Server; rs != nil && rs.SystemFingerprint != "" {
		fps = append(fps, rs.SystemFingerprint)
	}
	for _, f := range fps {
		if name, ok := ConstantFingerprints[f]; ok {
			s.ConstantFingerprint = name
		}
	}
	switch {
	case s.ModelDigest != "":
		s.Identity = "model digest"
	case s.ConstantFingerprint != "":
		s.Identity = "none"
	case len(s.Fingerprints) > 0:
		s.Identity = "system_fingerprint (the server's build; it need not identify the model)"
	}
	if rs := rec.Runtime.Server; rs != nil && rs.ModelDigest != "" && s.ModelDigest != "" {
		m := rs.ModelDigest == s.ModelDigest
		s.ModelDigestMatch = &m
	}
	if x := r.Exact; x != nil && x.SeedProbe != nil && !x.SeedProbe.Identical {
		x.SeedIgnored = true
	}
	if s.Recorded != nil || len(s.Models) > 0 || len(s.Fingerprints) > 0 || s.ModelDigest != "" || s.SeedBits < record.MaxSeedBits || s.Concurrency > 1 {
		r.Server = s
		r.Notes = append(r.Notes, s.notes(rec)...)
	}
}

// notes are what the comparison shows, for people.
func (s *ServerSection) notes(rec *record.Record) []string {
	var notes []string
	rs := s.Recorded
	if rs == nil {
		rs = &record.Server{}
	}
	if s.ModelDigestMatch != nil && !*s.ModelDigestMatch {
		notes = append(notes, fmt.Sprintf("the served model's digest differs from the recorded one (record %s, replay %s, from %s): the server serves another model than the decision's, whatever its name or system_fingerprint says",
			rs.ModelDigest, s.ModelDigest, s.ModelDigestFrom))
	}
	if s.ConstantFingerprint != "" {
		why := "the served model's digest identifies it (" + s.ModelDigestFrom + ")"
		if s.ModelDigest == "" {
			why = "the server gave no model digest, so nothing it said identifies the served model (the record's system.model pins the file handed to it)"
		}
		notes = append(notes, fmt.Sprintf("system_fingerprint is %s's constant, the same for every model: it does not identify the served model; %s", s.ConstantFingerprint, why))
	} else if rs.SystemFingerprint != "" && len(s.Fingerprints) > 0 && !slices.Contains(s.Fingerprints, rs.SystemFingerprint) {
		notes = append(notes, fmt.Sprintf("system_fingerprint differs: record %s, replay %s: the server's build or configuration changed", rs.SystemFingerprint, strings.Join(s.Fingerprints, ", ")))
	}
	if rs.Model != "" && len(s.Models) > 0 && !slices.Contains(s.Models, rs.Model) {
		notes = append(notes, fmt.Sprintf("the server names another model than at capture: record %s, replay %s", rs.Model, strings.Join(s.Models, ", ")))
	}
	if b := s.SeedBits; b < record.MaxSeedBits {
		n := fmt.Sprintf("the system uses only the low %d bits of a seed (runtime.seed_bits): a seed and the seed + 2^%d are the same run, and the fresh seeds were cut to %d bits", b, b, b)
		if sd := rec.Params.Seed; sd != nil && (*sd < 0 || *sd>>b != 0) {
			n += fmt.Sprintf("; the pinned seed %d runs as %d", *sd, *sd&(1<<b-1))
		}
		notes = append(notes, n)
	}
	if s.Concurrency > 1 {
		notes = append(notes, fmt.Sprintf("%d requests were in flight at once (--concurrency %d): a server that batches concurrent requests may answer differently than one request at a time (batch-size-dependent numerics), so fresh-seed outputs may differ from the decision's; --concurrency 1 is the deterministic setting (the pinned-seed runs always go one at a time)", s.Concurrency, s.Concurrency))
	}
	return notes
}

// writeServer writes what the server said, at capture and at replay.
func (r *Report) writeServer(b *strings.Builder) {
	s := r.Server
	if s == nil {
		return
	}
	code := render.MarkdownCode
	rs := s.Recorded
	if rs == nil {
		rs = &record.Server{}
	}
	opt := func(v string) string { return code(render.DashIfEmpty(v)) }
	t := render.NewTable(b, "server", "at capture", "at replay")
	t.Row("model name in answers", opt(rs.Model), opt(strings.Join(s.Models, ", ")))
	t.Row("served model digest", opt(rs.ModelDigest), opt(s.ModelDigest))
	fp := "system_fingerprint (server build)"
	if s.ConstantFingerprint != "" {
		fp = "system_fingerprint (" + s.ConstantFingerprint + "'s constant: not the model)"
	}
	t.Row(render.Markdown(fp), opt(rs.SystemFingerprint), opt(strings.Join(s.Fingerprints, ", ")))
	b.WriteString("\n")
	if s.Identity != "" {
		fmt.Fprintf(b, "- what identifies the served model: %s\n", render.Markdown(s.Identity))
	}
	seeds := "all 64 bits"
	if s.SeedBits < record.MaxSeedBits {
		seeds = fmt.Sprintf("the low %d bits (a seed and seed + 2^%d are the same run)", s.SeedBits, s.SeedBits)
	}
	fmt.Fprintf(b, "- seed bits the system uses: %s\n", seeds)
	fmt.Fprintf(b, "- requests in flight at once: %d\n\n", max(s.Concurrency, 1))
}
