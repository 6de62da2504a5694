package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/store"
)

type evalsRunOptions struct {
	runnerOptions
	Suite   string
	System  string
	Epochs  int
	RunSeed int64
	Conf    float64
	Output  outputFormat
	Journal string
	now     func() time.Time
}

func newEvalsRunCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &evalsRunOptions{now: time.Now}
	cmd := &cobra.Command{
		Use:   "run --suite SUITE --system SYS [-k EPOCHS]",
		Short: "Run a pinned system on a suite (one session) and store the scored results",
		Long: `Start the pinned system once (the same sandbox, hardware-class check and
runners as replay), run every item k times with seeds derived from --run-seed,
score every answer, and store the results (Parquet rows and a summary) in the
store, keyed by (system id, suite digest). Prints the run's digest and its
mean score with a cluster-robust interval (items as clusters), per tag too.
SUITE is a suite digest or a folder (packed first); SYS a system file
('reprise system create') or a decision record.

Each scored answer is appended to a journal in --journal-dir (one file per
suite, system, run seed, epochs and parameters) the moment it is scored; a
run that is killed or fails leaves it behind, and the same command run
again resumes from it (only the items and epochs not in it are run). The
journal is removed once the run is stored.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return runEvalsRun(c.Context(), g, s, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Suite, "suite", "", "suite digest or folder (required)")
	f.StringVar(&o.System, "system", "", "system file or decision record (required)")
	f.IntVarP(&o.Epochs, "epochs", "k", 1, "runs per item")
	f.Int64Var(&o.RunSeed, "run-seed", 1, "run seed; item seeds derive from it, its item id and epoch")
	f.Float64Var(&o.Conf, "conf", 0.95, "confidence level of the intervals")
	f.StringVar(&o.Journal, "journal-dir", "", "folder of the journals of unfinished runs (default: evals-journals beside the store)")
	f.BoolVar(&o.AllowHardwareMismatch, "allow-hardware-mismatch", false, "run even when this host's hardware class differs from the system's")
	addOutputFlag(cmd, &o.Output, outputText)
	o.runnerOptions.addFlags(cmd)
	return cmd
}

// evalRunResult is what evals run and rescore print.
type evalRunResult struct {
	Run          digest.Digest   `json:"run"`
	Suite        digest.Digest   `json:"suite"`
	SuiteName    string          `json:"suite_name"`
	SuiteVersion string          `json:"suite_version"`
	System       digest.Digest   `json:"system"`
	Model        string          `json:"model"`
	Epochs       int             `json:"epochs"`
	ItemsRun     int             `json:"items_run"`
	Rescored     int             `json:"items_rescored"`
	From         []digest.Digest `json:"rescored_from,omitempty"`
	Summary      evals.Summary   `json:"summary"`
}

func resultOf(d digest.Digest, m *evals.RunManifest) evalRunResult {
	return evalRunResult{Run: d, Suite: m.Suite, SuiteName: m.SuiteName, SuiteVersion: m.SuiteVersion, System: m.System.ID,
		Model: m.System.Model.Name + " " + m.System.Model.Version, Epochs: m.Epochs, ItemsRun: m.Ran, Rescored: m.Rescored,
		From: m.From, Summary: m.Summary}
}

func writeRunResult(w io.Writer, f outputFormat, r evalRunResult) error {
	return writeResult(w, f, r, func(w io.Writer) error {
		sm := r.Summary
		fmt.Fprintf(w, "run %s\n", r.Run)
		fmt.Fprintf(w, "suite %s %s (%s)\nsystem %s (%s)\n", r.SuiteName, r.SuiteVersion, r.Suite, r.System, r.Model)
		fmt.Fprintf(w, "items %d × %d epochs: %d run, %d re-scored; %d error answers\n", sm.Items, r.Epochs, r.ItemsRun, r.Rescored, sm.Errors)
		fmt.Fprintf(w, "mean score %.4f  %g%% CI [%.4f, %.4f] (items as clusters)\n", sm.Mean, sm.Conf*100, sm.Lower, sm.Upper)
		for _, t := range sm.ByTag {
			fmt.Fprintf(w, "  tag %-12s %.4f  [%.4f, %.4f]  (%d items)\n", t.Tag, t.Mean, t.Lower, t.Upper, t.Items)
		}
		return nil
	})
}

func runEvalsRun(ctx context.Context, g *globalOptions, s *streams, o *evalsRunOptions) error {
	if o.Suite == "" || o.System == "" {
		return usageErrorf("--suite and --system are required")
	}
	if o.Epochs < 1 {
		return usageErrorf("-k/--epochs %d: must be at least 1", o.Epochs)
	}
	if !(o.Conf > 0 && o.Conf < 1) {
		return usageErrorf("--conf %g: must be in (0, 1)", o.Conf)
	}
	target, err := loadTarget(o.System)
	if err != nil {
		return err
	}
	st, err := initStore(g)
	if err != nil {
		return err
	}
	su, err := resolveSuite(ctx, st, o.Suite)
	if err != nil {
		return err
	}
	m := &evals.RunManifest{Suite: su.Digest, SuiteName: su.Spec.Name, SuiteVersion: su.Spec.Version, System: target.System,
		Protocol: target.Protocol, HardwareClass: target.HardwareClass, RunSeed: o.RunSeed, Epochs: o.Epochs}
	jdir := o.Journal
	if jdir == "" {
		jdir = filepath.Join(filepath.Dir(filepath.Clean(g.storeDir())), "evals-journals")
	}
	j, err := openEvalJournal(jdir, m)
	if err != nil {
		return err
	}
	defer j.close()
	if n := len(j.resume); n > 0 {
		fmt.Fprintf(s.Err, "reprise: resuming from %s: %d answers already scored\n", j.path, n)
	}
	rows, err := runItems(ctx, g, s, &o.runnerOptions, st, target, su, m, nil, j.resume, j.f)
	if err != nil {
		if len(rows) == 0 && len(j.resume) == 0 {
			j.remove() // nothing to resume from
			return err
		}
		return fmt.Errorf("%w (the answers scored so far are kept in %s; run the same command again to resume)", err, j.path)
	}
	m.Ran = len(su.Items)
	m.Summary = evals.Summarize(su, rows, o.Conf)
	m.Created = o.now().UTC()
	d, err := evals.Save(ctx, st, m, rows)
	if err != nil {
		return err
	}
	j.remove()
	return writeRunResult(s.Out, o.Output, resultOf(d, m))
}

// evalJournal is the journal of one evals run: the rows of an earlier,
// unfinished run with the same suite, system, run seed, epochs and
// parameters, and the file new rows are appended to (locked while the run
// lasts).
type evalJournal struct {
	path   string
	f      *journal.Journal[evals.Row]
	lock   *journal.FileLock
	resume []evals.Row
}

// openEvalJournal opens (creating dir) the journal of run m: its name is the
// first 16 hex digits of sha256 over the suite digest, system id, run seed,
// epochs and parameters. Rows already there are read (a last line cut short
// by a kill is dropped) and written back atomically before appending.
func openEvalJournal(dir string, m *evals.RunManifest) (*evalJournal, error) {
	params, _ := json.Marshal(m.Params)
	key := digest.FromBytes(fmt.Appendf(nil, "reprise/evals/journal/v1\n%s\n%s\n%d\n%d\n%s", m.Suite, m.System.ID, m.RunSeed, m.Epochs, params))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, usageErrorf("--journal-dir %s: %v", dir, err)
	}
	j := &evalJournal{path: filepath.Join(dir, "evals-run-"+key.Hex()[:16]+".jsonl")}
	// The lock is taken on a file of its own before the journal is read or
	// rewritten: the rewrite replaces the journal's inode, so a lock on the
	// journal itself would not exclude a second run.
	lock, err := journal.Lock(j.path + ".lock")
	if errors.Is(err, journal.ErrLocked) {
		who := ""
		if h := journal.Holder(err); h != "" {
			who = ", " + h + ","
		}
		return nil, usageErrorf("journal %s: another evals run of the same suite, system and seed%s is writing it", j.path, who)
	}
	if err != nil {
		return nil, usageErrorf("journal %s: %v", j.path, err)
	}
	j.lock = lock
	if b, err := os.ReadFile(j.path); err == nil {
		if j.resume, err = evals.ReadJournal(bytes.NewReader(b)); err != nil {
			j.close()
			return nil, usageErrorf("journal %s: %v (remove it to start over)", j.path, err)
		}
		var buf bytes.Buffer
		for _, r := range j.resume {
			line, _ := json.Marshal(r)
			buf.Write(append(line, '\n'))
		}
		if err := journal.WriteAtomic(j.path, buf.Bytes()); err != nil {
			j.close()
			return nil, fmt.Errorf("journal %s: %w", j.path, err)
		}
	}
	if j.f, _, err = journal.Open[evals.Row](j.path); err != nil {
		j.close()
		return nil, usageErrorf("journal %s: %v", j.path, err)
	}
	return j, nil
}

// close closes the journal and releases its lock; the lock file stays until
// the run is stored (remove).
func (j *evalJournal) close() {
	if j.f != nil {
		j.f.Close()
		j.f = nil
	}
	j.lock.Release()
	j.lock = nil
}

// remove deletes the journal of a stored run and its lock file (while it
// still holds the lock).
func (j *evalJournal) remove() {
	os.Remove(j.path)
	os.Remove(j.path + ".lock")
	j.close()
}

// runItems starts target once and runs the items of su (only those in only,
// when not nil) with m's seed and epochs, re-using the rows in resume and
// journaling each new row to journal (nil: none).
func runItems(ctx context.Context, g *globalOptions, s *streams, ro *runnerOptions, st store.Reader, target launch.Target,
	su *evals.Suite, m *evals.RunManifest, only map[string]bool, resume []evals.Row, journal io.Writer) (rows []evals.Row, err error) {
	if journal == nil {
		journal = io.Discard
	}
	err = withSession(ctx, g, s, ro, st, target, su, func(sess evals.Session) error {
		rows, err = evals.Run(ctx, sess, su, target.System.ID, evals.RunOptions{Epochs: m.Epochs, Seed: m.RunSeed, Params: m.Params, Only: only,
			Resume: resume, Journal: journal, Logger: g.logger(s)})
		return err
	})
	return rows, err
}

// withSession starts target once (one sandboxed session, labelled with the
// suite) and calls f with it; the session is closed on every path.
func withSession(ctx context.Context, g *globalOptions, s *streams, ro *runnerOptions, st store.Reader, target launch.Target,
	su *evals.Suite, f func(evals.Session) error) error {
	log := g.logger(s)
	lopts, err := ro.launchOptions(ctx)
	if err != nil {
		return err
	}
	lopts.Logger = log
	pool := launch.NewPool(st, launch.PoolOptions{NewRunner: func(ctx context.Context) (launch.Runner, error) { return newRunner(ctx, ro, log) }})
	defer pool.Close(context.WithoutCancel(ctx))
	target.Labels = map[string]string{"reprise.evals.suite": su.Digest.String()}
	sess, err := pool.Acquire(ctx, target, lopts)
	if err != nil {
		return err
	}
	defer pool.Release(context.WithoutCancel(ctx), sess, false)
	return f(sess)
}
