package main

import (
	"context"
	"errors"
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
	cmd := &cobra.Command{
		Use:   "verify RECORD...",
		Short: "Validate decision records and check their integrity against the store",
		Long: `Validate each decision record and check its integrity: the input, model and
config blobs exist in the store and hash to their digests, the image is pinned
by digest or image id, and the system id recomputes.

Prints one line per problem naming the record and the field. Exit 0 when all
hold, 2 for a malformed record or a missing file, 4 for an integrity failure.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runVerify(c.Context(), g, s, o, args)
		},
	}
	addOutputFlag(cmd, &o.Output, outputText)
	return cmd
}

// verifyResult is one record's result in `verify --output json`.
type verifyResult struct {
	Path      string          `json:"path"`
	RequestID string          `json:"request_id,omitempty"`
	SystemID  string          `json:"system_id,omitempty"`
	OK        bool            `json:"ok"`
	Status    string          `json:"status"` // ok, malformed, integrity
	Problems  []verifyProblem `json:"problems"`
}

type verifyProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func runVerify(ctx context.Context, g *globalOptions, s *streams, o *verifyOptions, paths []string) error {
	st, err := openStore(g)
	if err != nil {
		return err
	}
	code := exitOK
	var results []verifyResult
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		res := verifyResult{Path: p, Status: "ok", Problems: []verifyProblem{}}
		rec, err := replay.LoadRecord(p)
		var probs []record.Problem
		var rerr *record.Error
		switch {
		case err == nil:
		case errors.As(err, &rerr):
			probs = rerr.Problems
		default:
			probs = []record.Problem{{Message: err.Error()}}
		}
		if rec != nil {
			res.RequestID, res.SystemID = rec.RequestID, rec.System.ID.String()
			probs = replay.Verify(ctx, st, rec) // includes the record's own checks
		}
		if len(probs) > 0 {
			res.Status = "integrity"
			c := exitIntegrity
			if rec == nil {
				res.Status, c = "malformed", exitUsage
			}
			code = max(code, c)
		}
		for _, pr := range probs {
			res.Problems = append(res.Problems, verifyProblem{pr.Field, pr.Message})
		}
		res.OK = len(probs) == 0
		results = append(results, res)
		if o.Output == outputText {
			if res.OK {
				fmt.Fprintf(s.Out, "%s: ok (request %s, system %s)\n", p, res.RequestID, res.SystemID)
			}
			for _, pr := range probs {
				fmt.Fprintf(s.Out, "%s: %s\n", p, pr)
			}
		}
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
