package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/replay/counterfactual"
	"github.com/reprise-dev/reprise/verdict"
)

// addAgainstFlag adds replay's --against.
func (o *replayOptions) addAgainstFlag(f *pflag.FlagSet) {
	f.StringVar(&o.Against, "against", "", "compare the record's system with SYS (a system file or another record) on the record's input: SAME 0, DIFFERENT 1, INCONCLUSIVE 3")
}

// againstLine is the JSON summary of a counterfactual replay.
type againstLine struct {
	Record    string           `json:"record"`
	RequestID string           `json:"request_id,omitempty"`
	Against   string           `json:"against"`
	Verdict   verdict.Sameness `json:"verdict,omitempty"`
	Reports   string           `json:"reports,omitempty"`
	Error     string           `json:"error,omitempty"`
	ExitCode  int              `json:"exit_code"`
}

// cfRun is what both counterfactual verbs need first: the record, the
// other systems, the store, the options and a sharing pool (closed by the
// caller).
type cfRun struct {
	rec    *record.Record
	others []counterfactual.System
	pool   *launch.Pool
	st     replay.Blobs
	ro     replay.Options
}

// cfSetup loads the record at path and the systems, checks the flags and
// opens the store and the pool.
func (o *replayOptions) cfSetup(ctx context.Context, g *globalOptions, s *streams, path string, systems []string) (*cfRun, error) {
	rec, err := replay.LoadRecord(path)
	if err != nil {
		return nil, err
	}
	r := &cfRun{rec: rec}
	for _, a := range systems {
		t, err := capture.LoadTarget(a)
		if err != nil {
			return nil, err
		}
		r.others = append(r.others, counterfactual.System{Name: a, Target: t})
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	log := g.logger(s)
	lo, st, err := o.open(ctx, g, log)
	if err != nil {
		return nil, err
	}
	r.pool, r.st, r.ro = launch.NewPool(st, launch.PoolOptions{Share: true, NewRunner: o.runners(log)}), st, o.Request.Options(lo)
	return r, nil
}

// reports writes a counterfactual verb's reports with write into --output
// (else out/<request_id>/<verb>), unless the record failed before any run
// on an integrity or input check. It returns the folder ("" for none) and
// err, else the write's error.
func (r *cfRun) reports(write func(dir string) error, runs int, err error, out, verb string) (string, error) {
	if err != nil && runs == 0 && (errors.Is(err, replay.ErrIntegrity) || errors.Is(err, counterfactual.ErrProtocol)) {
		return "", err
	}
	if out == "" {
		out = filepath.Join("out", r.rec.RequestID, verb)
	}
	if werr := write(out); werr != nil && err == nil {
		err = fmt.Errorf("write reports: %w", werr)
	}
	return out, err
}

// finishCF prints a counterfactual verb's line (as JSON, or with text when
// it succeeded) and returns its exit condition.
func finishCF(s *streams, format outputFormat, line any, code int, err error, text func(w io.Writer)) error {
	if format == outputJSON {
		if werr := writeJSON(s.Out, line); werr != nil {
			return werr
		}
	} else if err == nil {
		text(s.Out)
	}
	if err != nil {
		return err
	}
	if code != exitOK {
		return &silentError{code}
	}
	return nil
}

func runAgainst(ctx context.Context, g *globalOptions, s *streams, o *replayOptions, paths []string) error {
	if len(paths) != 1 {
		return usageErrorf("--against compares one record, got %d", len(paths))
	}
	r, err := o.cfSetup(ctx, g, s, paths[0], []string{o.Against})
	if err != nil {
		return err
	}
	defer r.pool.Close(ctx)
	res, err := counterfactual.Against(ctx, r.st, r.rec, r.others[0], r.pool, r.ro)
	line := againstLine{Record: paths[0], RequestID: r.rec.RequestID, Against: o.Against}
	if res != nil {
		line.Reports, err = r.reports(res.WriteFiles, len(res.Runs), err, o.Out, "against")
	}
	if err != nil {
		line.ExitCode, line.Error = exitCode(err), err.Error()
	} else {
		line.Verdict = res.Report.Verdict
		line.ExitCode = sameCode(line.Verdict)
	}
	return finishCF(s, o.Output, line, line.ExitCode, err, func(w io.Writer) {
		text := fmt.Sprintf("%s %s: %s against %s", line.Record, line.RequestID, line.Verdict, line.Against)
		if line.Reports != "" {
			text += "  reports: " + line.Reports
		}
		fmt.Fprintln(w, clean(text))
	})
}
