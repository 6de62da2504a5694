package evals

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/reprise-dev/reprise/buildinfo"
	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/system"
)

// Session is what a run needs of a started system (launch.Session has it).
type Session interface {
	Run(ctx context.Context, req runners.Request) (runners.Response, error)
}

// Row is one item and epoch of a run, as written to the results Parquet.
type Row struct {
	Suite        string  `parquet:"suite_digest" json:"suite_digest"`
	System       string  `parquet:"system_id" json:"system_id"`
	Item         string  `parquet:"item_id" json:"item_id"`
	InputDigest  string  `parquet:"input_digest" json:"input_digest"`
	Epoch        int     `parquet:"epoch" json:"epoch"`
	Seed         int64   `parquet:"seed" json:"seed"`
	Output       string  `parquet:"output,optional" json:"output,omitempty"` // canonical {"label","score","text"}
	OutputDigest string  `parquet:"output_digest,optional" json:"output_digest,omitempty"`
	Score        float64 `parquet:"score" json:"score"`
	LatencyNS    int64   `parquet:"latency_ns" json:"latency_ns"`
	Error        string  `parquet:"error,optional" json:"error,omitempty"`
	// Rescored is true when the output was re-used from an earlier run.
	Rescored bool `parquet:"rescored" json:"rescored"`
}

// SeedFor is the seed of item id's epoch in a run with seed runSeed: the
// first 8 bytes of sha256("reprise/evals/seed/v1\n<runSeed>\n<id>\n<epoch>")
// read as a big-endian uint64 and shifted right by one bit (a non-negative
// int64; the same rule as replay's and capture's seeds). Stored runs keep
// every row's seed, but a resumed run recomputes it and re-runs a journaled
// row whose seed differs: the rule is part of the results' format.
func SeedFor(runSeed int64, id string, epoch int) int64 {
	h := sha256.Sum256([]byte("reprise/evals/seed/v1\n" + strconv.FormatInt(runSeed, 10) + "\n" + id + "\n" + strconv.Itoa(epoch)))
	return int64(binary.BigEndian.Uint64(h[:8]) >> 1)
}

// RunOptions configure Run.
type RunOptions struct {
	Epochs int   // runs per item (k ≥ 1)
	Seed   int64 // the run seed; item seeds derive from it (SeedFor)
	Params system.Params
	// Only, when not nil, restricts the run to these item ids.
	Only map[string]bool
	// Resume are rows of an earlier, interrupted run with the same
	// options (RunJournal.Resume): an (item, epoch) whose row is there with the
	// same input digest and seed is not run again; its row is used.
	Resume []Row
	// Journal, when set, receives each new row as one JSON line the moment
	// it is scored (a *RunJournal), so a run killed outright loses no
	// finished item.
	Journal io.Writer
	Logger  *slog.Logger
	// Canonical, when set, is the protocol's canonical form of a raw
	// answer (runners.Codec.Canonical: without ids, times, fingerprints),
	// which a row's OutputDigest hashes, as replay's runs.parquet and the
	// record do; nil hashes the raw bytes.
	Canonical func(raw []byte) []byte
}

// Run runs every item of s Epochs times through sess and scores each answer.
// An error answer is a row with Error set and score 0; an error of the
// session (crash, timeout, protocol) stops the run and is returned with the
// rows so far.
//
// A session that keeps several runs in flight (runners.Batcher: a stdio
// session pipelines up to its window once the system echoes ids, an HTTP
// session sends its concurrency at once) gets every request of the run at
// once, as replay's fresh seeds do, and answers in request order; the rows,
// their order, seeds, outputs and digests are those of one request at a
// time (only latency_ns may differ). Other sessions are sent one request
// at a time.
func Run(ctx context.Context, sess Session, s *Suite, sys digest.Digest, o RunOptions) ([]Row, error) {
	if o.Epochs < 1 {
		return nil, fmt.Errorf("epochs must be at least 1, got %d", o.Epochs)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	jobs, reqs := planRun(s, sys, o)
	rows := make([]Row, 0, len(jobs))
	next := 0 // the next job whose row is not in rows
	// flush appends the resumed rows before job j (all, at len(jobs)).
	flush := func(j int) {
		for ; next < j; next++ {
			rows = append(rows, jobs[next].resumed)
		}
	}
	var runErr error
	yielded := 0
	yield := func(i int, resp runners.Response, err error) bool {
		yielded++
		j := reqs[i].job
		flush(j)
		job := jobs[j]
		if err != nil {
			runErr = fmt.Errorf("item %s epoch %d: %w", job.item.ID, job.epoch, err)
			return false
		}
		r := scoreRow(s, sys, job, resp, o)
		rows = append(rows, r)
		next = j + 1
		if o.Journal != nil {
			b, _ := json.Marshal(r)
			if _, err := o.Journal.Write(append(b, '\n')); err != nil {
				runErr = fmt.Errorf("eval journal: %w", err)
				return false
			}
		}
		return true
	}
	send := make([]runners.Request, len(reqs))
	for i, r := range reqs {
		send[i] = r.req
	}
	if b, ok := sess.(runners.Batcher); ok && len(send) > 0 {
		b.RunBatch(ctx, send, yield)
	} else {
		for i, req := range send {
			resp, err := sess.Run(ctx, req)
			if !yield(i, resp, err) {
				break
			}
		}
	}
	if runErr != nil {
		return rows, runErr
	}
	if yielded < len(send) { // a Batcher stops only after yielding an error
		return rows, fmt.Errorf("the session answered %d of %d requests", yielded, len(send))
	}
	flush(len(jobs))
	return rows, nil
}

// runJob is one item and epoch of a run: its row from an earlier run
// when it is resumed (ok), else a request to send.
type runJob struct {
	item    Item
	input   string // the item's input digest
	epoch   int
	seed    int64
	resumed Row
	ok      bool
}

// pendingReq is a request to send and the index of its job.
type pendingReq struct {
	req runners.Request
	job int
}

// planRun lists the run's jobs in order (items in suite order, epochs in
// order) and the requests of those not resumed from o.Resume.
func planRun(s *Suite, sys digest.Digest, o RunOptions) ([]runJob, []pendingReq) {
	type key struct {
		item  string
		epoch int
	}
	done := make(map[key]Row, len(o.Resume))
	for _, r := range o.Resume {
		done[key{r.Item, r.Epoch}] = r
	}
	var jobs []runJob
	var reqs []pendingReq
	for _, it := range s.Items {
		if o.Only != nil && !o.Only[it.ID] {
			continue
		}
		in := it.InputDigest().String()
		for e := range o.Epochs {
			seed := SeedFor(o.Seed, it.ID, e)
			job := runJob{item: it, input: in, epoch: e, seed: seed}
			if r, ok := done[key{it.ID, e}]; ok && r.Seed == seed && r.InputDigest == in && r.Suite == s.Digest.String() && r.System == sys.String() {
				job.resumed, job.ok = r, true
			} else {
				reqs = append(reqs, pendingReq{runners.Request{Input: it.Input, Params: o.Params.WithSeed(seed)}, len(jobs)})
			}
			jobs = append(jobs, job)
		}
	}
	return jobs, reqs
}

// scoreRow is the row of job's answer resp.
func scoreRow(s *Suite, sys digest.Digest, job runJob, resp runners.Response, o RunOptions) Row {
	it := job.item
	r := Row{Suite: s.Digest.String(), System: sys.String(), Item: it.ID, InputDigest: job.input,
		Epoch: job.epoch, Seed: job.seed, LatencyNS: resp.Latency.Nanoseconds(), Error: resp.Error}
	if raw := resp.Raw; len(raw) > 0 {
		if o.Canonical != nil {
			raw = o.Canonical(raw)
		}
		r.OutputDigest = digest.FromBytes(raw).String()
	}
	if resp.Error == "" {
		r.Output = string(resp.Output.Canonical())
	}
	r.Score = s.Scorer.Score(resp.Output, resp.Error != "", it.Reference)
	o.Logger.Debug("eval item", "item", it.ID, "epoch", job.epoch, "score", r.Score)
	return r
}

// Estimate is a mean score with its cluster-robust confidence interval.
type Estimate struct {
	Mean  float64 `json:"mean"`
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
	Items int     `json:"items"`
	Rows  int     `json:"rows"`
}

// TagEstimate is the estimate of the items carrying one tag.
type TagEstimate struct {
	Tag string `json:"tag"`
	Estimate
}

// Summary is a run's overall and per-tag scores.
type Summary struct {
	Estimate
	Conf   float64       `json:"conf"`
	Errors int           `json:"errors"`
	ByTag  []TagEstimate `json:"by_tag,omitempty"`
}

// ClusterMean is the mean of rows' scores with a conf-level interval that
// treats items as clusters (epochs of one item are not independent): the
// cluster-robust (CR1, items as clusters) standard error
// SE² = n/(n−1) · Σᵢ (Σⱼ (yᵢⱼ − ȳ))² / N² over n items and N rows, and
// ȳ ± t(n−1) · SE, clipped to [0, 1] (the range of scores). With equal epochs per item this is the t interval of the
// per-item means. With one item the interval is the mean itself.
func ClusterMean(rows []Row, conf float64) Estimate {
	sums := map[string]float64{}
	var total float64
	for _, r := range rows {
		total += r.Score
	}
	N := float64(len(rows))
	if N == 0 {
		return Estimate{}
	}
	mean := total / N
	for _, r := range rows {
		sums[r.Item] += r.Score - mean
	}
	n := float64(len(sums))
	e := Estimate{Mean: mean, Lower: mean, Upper: mean, Items: len(sums), Rows: len(rows)}
	if n < 2 {
		return e
	}
	// Sum in item order: a map's order would make the last bits, and so
	// the stored run's digest, differ between identical runs.
	var ss float64
	for _, k := range slices.Sorted(maps.Keys(sums)) {
		ss += sums[k] * sums[k]
	}
	se := math.Sqrt(n / (n - 1) * ss / (N * N))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile(1 - (1-conf)/2)
	// Scores lie in [0, 1]; so does the interval.
	e.Lower, e.Upper = max(0, mean-t*se), min(1, mean+t*se)
	return e
}

// Summarize computes the summary of rows on suite s at level conf.
func Summarize(s *Suite, rows []Row, conf float64) Summary {
	sum := Summary{Estimate: ClusterMean(rows, conf), Conf: conf}
	tags := map[string][]string{}
	for _, it := range s.Items {
		for _, t := range it.Tags {
			tags[t] = append(tags[t], it.ID)
		}
	}
	byItem := map[string][]Row{}
	for _, r := range rows {
		if r.Error != "" {
			sum.Errors++
		}
		byItem[r.Item] = append(byItem[r.Item], r)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for t := range tags {
			if !yield(t) {
				return
			}
		}
	})
	for _, t := range names {
		var sub []Row
		for _, id := range tags[t] {
			sub = append(sub, byItem[id]...)
		}
		sum.ByTag = append(sum.ByTag, TagEstimate{Tag: t, Estimate: ClusterMean(sub, conf)})
	}
	return sum
}

// RunManifest is a stored run: which system on which suite, how, and its
// results. Its digest names the run ("results R").
type RunManifest struct {
	Schema       string        `json:"schema"`
	Suite        digest.Digest `json:"suite"`
	SuiteName    string        `json:"suite_name"`
	SuiteVersion string        `json:"suite_version"`
	// System, Protocol and HardwareClass say what ran; Params, RunSeed
	// and Epochs how.
	System        system.System `json:"system"`
	Protocol      string        `json:"protocol"`
	HardwareClass string        `json:"hardware_class"`
	Params        system.Params `json:"params"`
	RunSeed       int64         `json:"run_seed"`
	Epochs        int           `json:"epochs"`
	// Results is the digest of the rows (Parquet); Summary their scores.
	Results digest.Digest `json:"results"`
	Summary Summary       `json:"summary"`
	// Ran and Rescored count the items run and the items whose stored
	// outputs were re-scored; From lists the runs re-used.
	Ran      int             `json:"items_run"`
	Rescored int             `json:"items_rescored"`
	From     []digest.Digest `json:"rescored_from,omitempty"`
	// Replays is set on a run made to check another stored run (evals
	// check): such a run is never the baseline of a later check.
	Replays digest.Digest `json:"replays,omitzero"`
	Created time.Time     `json:"created"`
	// RepriseVersion is the reprise that made the run (buildinfo.Version()).
	RepriseVersion string `json:"reprise_version,omitempty"`
}

// NewRun is the manifest of a new run on suite s by the system of t (its
// system, protocol and hardware class) with params, run seed seed and
// epochs; Ran, Rescored, From and Replays are the caller's.
func NewRun(s *Suite, t launch.Target, params system.Params, seed int64, epochs int) *RunManifest {
	return &RunManifest{Suite: s.Digest, SuiteName: s.Spec.Name, SuiteVersion: s.Spec.Version, System: t.System,
		Protocol: t.Protocol, HardwareClass: t.HardwareClass, Params: params, RunSeed: seed, Epochs: epochs, RepriseVersion: buildinfo.Version()}
}

// Target is the system run m ran on, to run it again (no labels, default
// HTTP settings).
func (m *RunManifest) Target() launch.Target {
	return launch.Target{System: m.System, Protocol: m.Protocol, HardwareClass: m.HardwareClass}
}

// Options are the RunOptions of run m: its epochs, seed and parameters.
func (m *RunManifest) Options() RunOptions {
	return RunOptions{Epochs: m.Epochs, Seed: m.RunSeed, Params: m.Params}
}

// Finish summarizes rows, the results of run m on suite s, at level conf,
// dates m now (UTC) and stores it (Save); it returns the run's digest.
func (m *RunManifest) Finish(ctx context.Context, w store.Writer, s *Suite, rows []Row, conf float64, now time.Time) (digest.Digest, error) {
	m.Summary = Summarize(s, rows, conf)
	m.Created = now.UTC()
	return Save(ctx, w, m, rows)
}

// DecodeRows reads rows from Parquet bytes.
func DecodeRows(b []byte) ([]Row, error) {
	rows, err := parquet.Read[Row](bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrResults, err)
	}
	return rows, nil
}

// Save stores rows and the manifest m (its Results set here) and returns
// the run's digest. Runs are kept forever: nothing in reprise deletes them.
func Save(ctx context.Context, w store.Writer, m *RunManifest, rows []Row) (digest.Digest, error) {
	b, err := EncodeRows(rows)
	if err != nil {
		return digest.Digest{}, fmt.Errorf("results parquet: %w", err)
	}
	name := fmt.Sprintf("eval %s %s on %s", m.SuiteName, m.SuiteVersion, m.System.ID)
	d, err := w.PutBytes(ctx, b, store.Meta{MediaType: MediaTypeResults, Name: name})
	if err != nil {
		return digest.Digest{}, err
	}
	m.Schema = RunSchema
	m.Results = d
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return digest.Digest{}, err
	}
	return w.PutBytes(ctx, append(mb, '\n'), store.Meta{MediaType: MediaTypeRun, Name: name})
}

// LoadRun reads the run manifest d.
func LoadRun(ctx context.Context, r store.Reader, d digest.Digest) (*RunManifest, error) {
	b, err := r.ReadAll(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("results %s: %w", d, err)
	}
	var m RunManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrResults, d, err)
	}
	if m.Schema != RunSchema {
		return nil, fmt.Errorf("%w: %s is not an eval run", ErrResults, d)
	}
	return &m, nil
}

// LoadRows reads the rows of run m.
func LoadRows(ctx context.Context, r store.Reader, m *RunManifest) ([]Row, error) {
	b, err := r.ReadAll(ctx, m.Results)
	if err != nil {
		return nil, fmt.Errorf("results %s: %w", m.Results, err)
	}
	return DecodeRows(b)
}

// HistoryEntry is one stored run.
type HistoryEntry struct {
	Run digest.Digest `json:"run"`
	*RunManifest
}

// History lists the stored runs matching suite and/or system (zero = any),
// oldest first.
func History(ctx context.Context, st Lister, suite, sys digest.Digest) ([]HistoryEntry, error) {
	ds, err := listByType(ctx, st, MediaTypeRun)
	if err != nil {
		return nil, err
	}
	var out []HistoryEntry
	for _, d := range ds {
		m, err := LoadRun(ctx, st, d)
		if err != nil {
			return nil, err
		}
		if (!suite.IsZero() && m.Suite != suite) || (!sys.IsZero() && m.System.ID != sys) {
			continue
		}
		out = append(out, HistoryEntry{Run: d, RunManifest: m})
	}
	slices.SortStableFunc(out, func(a, b HistoryEntry) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// decodeOutput parses a row's canonical output.
func decodeOutput(s string) (output.Output, error) {
	var o output.Output
	if s == "" {
		return o, nil
	}
	err := json.Unmarshal([]byte(s), &o)
	return o, err
}
