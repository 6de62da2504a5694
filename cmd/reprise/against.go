package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/replay/counterfactual"
	"github.com/reprise-dev/reprise/verdict"
)

// addAgainstFlag adds replay's --against.
func (o *replayOptions) addAgainstFlag(f *pflag.FlagSet) {
	f.StringVar(&o.Against, "against", "", "compare the record's system with SYS (a system file or another record) on the record's input: SAME 0, DIFFERENT 1, INCONCLUSIVE 3")
}

// sameCode is the exit code of a two-system verdict.
func sameCode(v verdict.Sameness) int {
	switch v {
	case verdict.Same:
		return exitOK
	case verdict.Different:
		return exitDiverged
	}
	return exitInconclusive
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

// cfSetup is what both counterfactual verbs need first: the record, the
// options, the store and a sharing pool (closed by the caller).
func (o *replayOptions) cfSetup(ctx context.Context, g *globalOptions, s *streams) (*launch.Pool, replay.Blobs, replay.Options, error) {
	if err := o.validate(); err != nil {
		return nil, nil, replay.Options{}, err
	}
	log := g.logger(s)
	lo, st, err := o.open(ctx, g, log)
	if err != nil {
		return nil, nil, replay.Options{}, err
	}
	pool := launch.NewPool(st, launch.PoolOptions{Share: true, NewRunner: o.runners(log)})
	return pool, st, o.Request.Options(lo), nil
}

// loadSystems reads each system argument (a system file or a record).
func loadSystems(args []string) ([]counterfactual.System, error) {
	var out []counterfactual.System
	for _, a := range args {
		t, err := capture.LoadTarget(a)
		if err != nil {
			return nil, err
		}
		out = append(out, counterfactual.System{Name: a, Target: t})
	}
	return out, nil
}

// reportsDir is --output, else out/<request_id>/<verb>.
func reportsDir(out, requestID, verb string) string {
	if out != "" {
		return out
	}
	return filepath.Join("out", requestID, verb)
}

// writeable says whether a failed verb's reports are worth writing: not
// for a record that failed before any run on an integrity or input check.
func writeable(err error, runs int) bool {
	return err == nil || runs > 0 || !(errors.Is(err, replay.ErrIntegrity) || errors.Is(err, counterfactual.ErrProtocol))
}

func runAgainst(ctx context.Context, g *globalOptions, s *streams, o *replayOptions, paths []string) error {
	if len(paths) != 1 {
		return usageErrorf("--against compares one record, got %d", len(paths))
	}
	rec, err := replay.LoadRecord(paths[0])
	if err != nil {
		return err
	}
	others, err := loadSystems([]string{o.Against})
	if err != nil {
		return err
	}
	pool, st, ro, err := o.cfSetup(ctx, g, s)
	if err != nil {
		return err
	}
	defer pool.Close(ctx)
	res, err := counterfactual.Against(ctx, st, rec, others[0], pool, ro)
	line := againstLine{Record: paths[0], RequestID: rec.RequestID, Against: o.Against}
	if res != nil && writeable(err, len(res.Runs)) {
		dir := reportsDir(o.Out, rec.RequestID, "against")
		if werr := res.WriteFiles(dir); werr != nil && err == nil {
			err = fmt.Errorf("write reports: %w", werr)
		}
		line.Reports = dir
	}
	return finishAgainst(s, o.Output, line, res, err)
}

// finishAgainst prints the outcome and returns the exit condition.
func finishAgainst(s *streams, format outputFormat, line againstLine, res *counterfactual.AgainstResult, err error) error {
	if err != nil {
		line.ExitCode, line.Error = exitCode(err), err.Error()
	} else {
		line.Verdict = res.Report.Verdict
		line.ExitCode = sameCode(line.Verdict)
	}
	if format == outputJSON {
		if werr := writeJSON(s.Out, line); werr != nil {
			return werr
		}
	} else if err == nil {
		text := fmt.Sprintf("%s %s: %s against %s", line.Record, line.RequestID, line.Verdict, line.Against)
		if line.Reports != "" {
			text += "  reports: " + line.Reports
		}
		fmt.Fprintln(s.Out, clean(text))
	}
	if err != nil {
		return err
	}
	if line.ExitCode != exitOK {
		return &silentError{line.ExitCode}
	}
	return nil
}
