package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/system"
)

// evalsRunFlags are the options evals run and rescore share: the runner,
// the new suite, the level of the intervals, the output format, the clock.
type evalsRunFlags struct {
	runnerOptions
	Suite  string
	Conf   float64
	Output outputFormat
	now    func() time.Time
}

// addFlags adds --suite (described by suiteHelp), --conf,
// --allow-hardware-mismatch, --output and the runner flags.
func (o *evalsRunFlags) addFlags(cmd *cobra.Command, suiteHelp string) {
	o.now = time.Now
	f := cmd.Flags()
	f.StringVar(&o.Suite, "suite", "", suiteHelp)
	f.Float64Var(&o.Conf, "conf", 0.95, "confidence level of the intervals")
	f.BoolVar(&o.AllowHardwareMismatch, "allow-hardware-mismatch", false, "run even when this host's hardware class differs from the system's")
	addFormatFlag(cmd, &o.Output, outputText)
	o.runnerOptions.addFlags(cmd)
}

// checkConf checks --conf.
func (o *evalsRunFlags) checkConf() error {
	if !(o.Conf > 0 && o.Conf < 1) {
		return usageErrorf("--conf %g: must be in (0, 1)", o.Conf)
	}
	return nil
}

// openSuite opens (or creates) the store and reads --suite from it, or
// packs the folder --suite names into it.
func (o *evalsRunFlags) openSuite(ctx context.Context, g *globalOptions) (*store.Layout, *evals.Suite, error) {
	st, err := initStore(g)
	if err != nil {
		return nil, nil, err
	}
	su, err := evals.ResolveSuite(ctx, st, o.Suite)
	return st, su, err
}

type evalsRunOptions struct {
	evalsRunFlags
	System  string
	Epochs  int
	RunSeed int64
	Journal string
}

func newEvalsRunCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &evalsRunOptions{}
	cmd := newCommand("run --suite SUITE --system SYS [-k EPOCHS]", "Run a pinned system on a suite (one session) and store the scored results",
		help("evals-run"), cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runEvalsRun(ctx, g, s, o) })
	o.addFlags(cmd, "suite digest or folder (required)")
	f := cmd.Flags()
	f.StringVar(&o.System, "system", "", "system file or decision record (required)")
	f.IntVarP(&o.Epochs, "epochs", "k", 1, "runs per item")
	f.Int64Var(&o.RunSeed, "run-seed", 1, "run seed; item seeds derive from it, its item id and epoch")
	f.StringVar(&o.Journal, "journal-dir", "", "folder of the journals of unfinished runs (default: evals-journals beside the store)")
	return cmd
}

func runEvalsRun(ctx context.Context, g *globalOptions, s *streams, o *evalsRunOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	target, err := capture.LoadTarget(o.System)
	if err != nil {
		return err
	}
	st, su, err := o.openSuite(ctx, g)
	if err != nil {
		return err
	}
	m := evals.NewRun(su, target, system.Params{}, o.RunSeed, o.Epochs)
	j, err := openRunJournal(g, o.Journal, m)
	if err != nil {
		return err
	}
	defer j.Close()
	if n := len(j.Resume()); n > 0 {
		fmt.Fprintf(s.Err, "reprise: resuming from %s: %d answers already scored\n", j.Path(), n)
	}
	res, err := m.RunJournaled(ctx, st, su, target, j, o.Conf, o.now(), o.runItems(ctx, st, su, g.logger(s)))
	if err != nil {
		return err
	}
	return writeResult(s.Out, o.Output, res, res.WriteText)
}

// validate checks the flags of evals run.
func (o *evalsRunOptions) validate() error {
	if o.Suite == "" || o.System == "" {
		return usageErrorf("--suite and --system are required")
	}
	if o.Epochs < 1 {
		return usageErrorf("-k/--epochs %d: must be at least 1", o.Epochs)
	}
	if err := o.runnerOptions.Validate(); err != nil {
		return err
	}
	return o.checkConf()
}

// openRunJournal opens the journal of run m in dir (default: beside the
// store); a journal that cannot be used is a usage error.
func openRunJournal(g *globalOptions, dir string, m *evals.RunManifest) (*evals.RunJournal, error) {
	if dir == "" {
		dir = evals.DefaultJournalDir(g.storeDir())
	}
	j, err := evals.OpenRunJournal(dir, m)
	if de := (*evals.JournalDirError)(nil); errors.As(err, &de) {
		err = fmt.Errorf("--journal-dir %s: %v", de.Dir, de.Err)
	}
	if err != nil {
		return nil, &usageError{err}
	}
	return j, nil
}

// runItems runs items of su on one sandboxed session of the target
// (labelled with the suite) per call.
func (o *runnerOptions) runItems(ctx context.Context, st store.Reader, su *evals.Suite, log *slog.Logger) evals.RunItems {
	return func(target launch.Target, ro evals.RunOptions) (rows []evals.Row, err error) {
		ro.Logger = log
		target.Labels = map[string]string{"reprise.evals.suite": su.Digest.String()}
		err = o.WithSession(ctx, st, target, log, func(sess *launch.Session) error {
			ro.Canonical = sess.Codec.Canonical
			rows, err = evals.Run(ctx, sess, su, target.System.ID, ro)
			return err
		})
		return rows, err
	}
}
