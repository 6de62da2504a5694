package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
)

type verifyOptions struct {
	Output outputFormat
}

func newVerifyCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &verifyOptions{}
	cmd := newCommand("verify RECORD...", "Validate decision records and check their integrity against the store",
		help("verify"), cobra.MinimumNArgs(1),
		func(ctx context.Context, args []string) error { return runVerify(ctx, g, s, o, args) })
	addOutputFlag(cmd, &o.Output, outputText)
	return cmd
}

// verifyResult is one record's result in `verify --format json`.
type verifyResult struct {
	Path      string           `json:"path"`
	RequestID string           `json:"request_id,omitempty"`
	SystemID  string           `json:"system_id,omitempty"`
	OK        bool             `json:"ok"`
	Status    string           `json:"status"` // ok, malformed, integrity
	Problems  []record.Problem `json:"problems"`
}

func runVerify(ctx context.Context, g *globalOptions, s *streams, o *verifyOptions, paths []string) error {
	st, err := openStore(g)
	if err != nil {
		return err
	}
	code := exitOK
	var results []verifyResult
	err = replay.VerifyAll(ctx, st, replay.Files(paths), func(c replay.Checked) bool {
		res := newVerifyResult(c)
		code = max(code, res.code())
		results = append(results, res)
		if o.Output == outputText {
			printVerify(s, c, res)
		}
		return true
	})
	if err != nil {
		return err
	}
	if o.Output == outputJSON {
		if err := writeJSON(s.Out, map[string]any{"ok": code == exitOK, "records": results}); err != nil {
			return err
		}
	}
	if code != exitOK {
		return &silentError{code}
	}
	return nil
}

// newVerifyResult is the JSON line of one record's verification.
func newVerifyResult(c replay.Checked) verifyResult {
	res := verifyResult{Path: c.Source, Status: "ok", Problems: append([]record.Problem{}, c.Problems...), OK: len(c.Problems) == 0}
	if c.Record != nil {
		res.RequestID, res.SystemID = c.Record.RequestID, c.Record.System.ID.String()
	}
	switch {
	case res.OK:
	case c.Malformed():
		res.Status = "malformed"
	default:
		res.Status = "integrity"
	}
	return res
}

// code is the exit code of one record's verification.
func (r verifyResult) code() int {
	return map[string]int{"ok": exitOK, "malformed": exitUsage, "integrity": exitIntegrity}[r.Status]
}

// printVerify prints one record's lines of the text output.
func printVerify(s *streams, c replay.Checked, res verifyResult) {
	if res.OK {
		fmt.Fprintf(s.Out, "%s: ok (request %s, system %s)\n", c.Source, res.RequestID, res.SystemID)
	}
	for _, pr := range c.Problems {
		fmt.Fprintf(s.Out, "%s: %s\n", c.Source, pr)
	}
}
