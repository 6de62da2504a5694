package nightly

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/ingest"
	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/verdict"
)

// Options configure a night.
type Options struct {
	// Log is the Parquet decision log of records (a regular file).
	Log string
	// Limits bound what a page of Log may make the night allocate
	// (record.CheckParquet refuses the log before it is read).
	Limits record.ParquetLimits
	// Filter selects records; its time bounds also skip row groups.
	Filter ingest.Filter
	// Sample is the number of records drawn (per system when Stratify);
	// 0 takes every selected record.
	Sample   int
	Stratify bool
	Seed     uint64
	// Parallel is the number of systems replayed at once (default 1).
	Parallel int
	// FDR is the Benjamini–Hochberg level (default 0.05).
	FDR float64
	// MinRate, when > 0, fails a system whose reproducibility rate's
	// interval lies wholly below it.
	MinRate float64
	// Out is the output folder (night.json, journal, reports).
	Out   string
	Shard Shard
	// Replay is the template of every record's replay (N, Rules, Launch…).
	Replay replay.Options
	// ConfirmN is the number of fresh-seed runs of a record's first
	// confirming replay (default verdict.DefaultMaxRuns): with
	// Replay.Sequential, a record whose pinned seed did not reproduce the
	// stored output exactly is replayed again with exactly ConfirmN runs,
	// and, when that is INCONCLUSIVE, ConfirmGrowth × ConfirmN; the last
	// replay (its verdict and reports) is the record's result (see confirm). A sequential
	// replay's p-value is taken once, on the first runs that give it power
	// at the record's own level (about alpha/c), so it cannot be small
	// enough for Benjamini–Hochberg across a night; a fixed-N replay's can.
	ConfirmN int
	// FleetRuns is the number of fresh-seed outputs behind each record's
	// fleet p-value (Result.FleetP): the first FleetRuns fresh seeds, from
	// the night's replay (fixed N: default N, at most N), the first
	// confirming replay, or, for a record its sequential replay reproduced
	// exactly (no fresh seed run), a replay of those seeds for the fleet
	// test alone (default DefaultFleetRuns, at most ConfirmN). NoFleet
	// turns the fleet test off. FleetAlpha is the fleet test's level
	// (default DefaultFleetAlpha).
	FleetRuns  int
	NoFleet    bool
	FleetAlpha float64
	// NewRunner creates the runner on first need; it is shared by all
	// systems (one session per system is started through it).
	NewRunner func(ctx context.Context) (replay.Runner, error)
	// Progress, when set, is called after each record (Progress.Finished)
	// and after each run of the records being replayed.
	Progress func(Progress)
}

// withDefaults fills in the defaults of zero options (Parallel 1, FDR
// 0.05, Replay.N 100, ConfirmN verdict.DefaultMaxRuns for a sequential
// night and none otherwise, the default rules) and checks the rest
// (ErrOptions).
func (o Options) withDefaults() (Options, error) {
	if o.Parallel <= 0 {
		o.Parallel = 1
	}
	if o.FDR == 0 {
		o.FDR = 0.05
	}
	if !(o.FDR > 0 && o.FDR < 1) || o.MinRate < 0 || o.MinRate >= 1 {
		return o, fmt.Errorf("%w: --fdr must be in (0, 1) and --min-rate in [0, 1)", ErrOptions)
	}
	if o.Replay.N == 0 {
		o.Replay.N = 100
	}
	if !o.Replay.Sequential {
		o.ConfirmN = 0
	} else if o.ConfirmN == 0 {
		o.ConfirmN = verdict.DefaultMaxRuns
	}
	if o.ConfirmN < 0 {
		return o, fmt.Errorf("%w: the confirming replay's runs must not be negative, got %d", ErrOptions, o.ConfirmN)
	}
	if err := o.fleetDefaults(); err != nil {
		return o, err
	}
	o.Replay.Rules = o.Replay.Rules.WithDefaults()
	return o, nil
}

// fleetDefaults fills in and checks the fleet options (see FleetRuns).
func (o *Options) fleetDefaults() error {
	if o.FleetAlpha == 0 {
		o.FleetAlpha = DefaultFleetAlpha
	}
	most := o.ConfirmN
	if !o.Replay.Sequential {
		most = o.Replay.N
	}
	switch {
	case o.NoFleet:
		o.FleetRuns = 0
	case o.FleetRuns == 0 && !o.Replay.Sequential:
		o.FleetRuns = o.Replay.N
	case o.FleetRuns == 0:
		o.FleetRuns = min(DefaultFleetRuns, most)
	}
	if o.FleetRuns < 0 || o.FleetRuns > most || !(o.FleetAlpha > 0 && o.FleetAlpha < 1) {
		return fmt.Errorf("%w: the fleet runs must be in [1, %d] (-n, or --confirm-n for a sequential night), got %d, and --fleet-alpha in (0, 1), got %g", ErrOptions, most, o.FleetRuns, o.FleetAlpha)
	}
	return nil
}

// Progress is the state of a night after a record or a run.
type Progress struct {
	Done, Total int
	Counts      map[verdict.Verdict]int
	Elapsed     time.Duration
	// Resumed is the number of records found done in the journal.
	Resumed int
	// Finished is true when a record has just finished (Done counts it),
	// false after a run.
	Finished bool
	// Runs counts the runs made since the night (re)started, of every
	// record and stage; FinishedRuns those of the records finished since.
	Runs, FinishedRuns int
	// Active are the records being replayed, in the order they began.
	Active []Stage
}

// Stage is where a record being replayed stands: its stage ("replay", or
// "confirming i/n"), and the runs done and planned in that stage. Total
// is a cap when Sequential (the stopping rule may end the stage sooner).
type Stage struct {
	RequestID   string
	Name        string
	Done, Total int
	Sequential  bool
}

// Run runs (or continues) a night and returns it. The output folder holds
// night.json, the journal, and each record's reports under records/. An
// interruption returns ctx's error with the journal kept: run again to
// continue. Its errors: ErrOptions, ErrOut, ErrLocked, ErrLog, ErrConfig,
// ErrOtherNight, ctx's, and those of the journal and the reports.
func Run(ctx context.Context, st replay.Blobs, opts Options) (*Night, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &night{st: st, opts: opts, now: opts.Replay.Now}
	if n.now == nil {
		n.now = time.Now
	}
	n.started = n.now()
	if f, _, err := fsread.Open(opts.Log); err != nil { // before the output folder is made
		return nil, fmt.Errorf("%w: log: %v", ErrLog, err)
	} else {
		f.Close()
	}
	if err := os.MkdirAll(filepath.Join(opts.Out, RecordsDir), 0o755); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOut, err)
	}
	unlock, err := lock(opts.Out)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := n.begin(ctx); err != nil {
		return nil, err
	}
	jf, rs, err := journal.Open[Result](filepath.Join(opts.Out, JournalName))
	if err != nil {
		return nil, err
	}
	defer jf.Close()
	n.resume(jf, rs)
	if err := n.replayAll(ctx); err != nil {
		return nil, err
	}
	nt := Finalize(n.cfg, n.results())
	nt.checkJournal(n.check)
	return nt, nil
}

// night is one run of a night, from its config to its last record: the
// options (defaults applied), the config and sample once begun, and, once
// the journal is open, the finished records and the progress, which
// finish updates under mu for every worker.
type night struct {
	st      replay.Blobs
	opts    Options
	now     func() time.Time
	started time.Time
	cfg     *Config
	sample  []*record.Record
	todo    []*record.Record // the sample's records not yet journaled

	mu   sync.Mutex
	jf   *journal.Journal[Result]
	done map[string]Result
	// check counts the journal lines found on resuming that were not
	// taken as they are.
	check JournalCheck
	prog  Progress
	// active are the stages of the records being replayed (under mu), and
	// activeRuns the runs each has made so far.
	active     []*Stage
	activeRuns map[string]int
}

// begin fixes the night's config and draws its sample: a new night writes
// night.json; a night already begun in the output folder must be this
// command's (ErrOtherNight) and keeps its time bounds and its sample.
func (n *night) begin(ctx context.Context) error {
	cfg, err := newConfig(ctx, n.opts)
	if err != nil {
		return err
	}
	cfg.Started = n.started.UTC()
	prev, err := ReadConfig(n.opts.Out)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if prev != nil {
		if err := cfg.resumes(prev, n.opts.Out); err != nil {
			return err
		}
		n.opts.Filter.Time.Since, n.opts.Filter.Time.Until = cfg.Since, cfg.Until
	}
	n.cfg = cfg
	if n.sample, err = draw(n.opts, cfg); err != nil {
		return err
	}
	if prev != nil {
		return cfg.sameSample(prev)
	}
	return cfg.write(n.opts.Out)
}

// resume takes the journal and the results it holds (of the sample only;
// see takeResults): the records left to replay and the progress so far.
func (n *night) resume(jf *journal.Journal[Result], rs []Result) {
	n.jf = jf
	n.done, n.check = takeResults(rs, n.cfg.Records, n.opts.Replay.Logger, filepath.Join(n.opts.Out, JournalName))
	for _, r := range n.sample {
		if _, ok := n.done[r.RequestID]; !ok {
			n.todo = append(n.todo, r)
		}
	}
	resumed := len(n.sample) - len(n.todo)
	n.prog = Progress{Total: len(n.sample), Done: resumed, Resumed: resumed, Counts: map[verdict.Verdict]int{}}
	for _, r := range n.done {
		n.prog.Counts[r.ReplayVerdict]++
	}
}

// finish journals one record's result and reports the progress; workers
// call it concurrently.
func (n *night) finish(r Result) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.jf.Append(r); err != nil {
		return err
	}
	n.done[r.RequestID] = r
	n.prog.Done++
	n.prog.Counts[r.ReplayVerdict]++
	n.prog.FinishedRuns += n.activeRuns[r.RequestID]
	n.leave(r.RequestID)
	n.report(true)
	return nil
}

// replayAll replays the records left, a session group at a time on
// Parallel workers, with one pool for the night: one session per system,
// lent to each of its records in turn and retired when the system's group
// is done. It returns the first worker's error, or ctx's.
func (n *night) replayAll(ctx context.Context) error {
	pool := launch.NewPool(n.st, launch.PoolOptions{NewRunner: n.opts.NewRunner, Share: true,
		SharedLabels: map[string]string{"reprise.nightly": "1"}})
	defer pool.Close(ctx)
	work := make(chan []*record.Record)
	errc := make(chan error, n.opts.Parallel)
	var wg sync.WaitGroup
	for range n.opts.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range work {
				if err := n.runGroup(ctx, pool, g); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	err := feed(ctx, group(n.todo), work, errc)
	close(work)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// feed hands the groups to the workers until they are all taken, a worker
// fails (its error is returned) or ctx is done (nil is returned).
func feed(ctx context.Context, groups [][]*record.Record, work chan<- []*record.Record, errc <-chan error) error {
	for _, g := range groups {
		select {
		case work <- g:
		case err := <-errc:
			return err
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// results are the sample's results, in the sample's order.
func (n *night) results() []Result {
	out := make([]Result, 0, len(n.sample))
	for _, r := range n.sample {
		out = append(out, n.done[r.RequestID])
	}
	return out
}
