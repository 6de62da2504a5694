package main

import (
	"context"

	"github.com/spf13/cobra"

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
	addFormatFlag(cmd, &o.Output, outputText)
	return cmd
}

func runVerify(ctx context.Context, g *globalOptions, s *streams, o *verifyOptions, paths []string) error {
	st, err := openStore(g)
	if err != nil {
		return err
	}
	code := exitOK
	var results []replay.VerifyResult
	err = replay.VerifyAll(ctx, st, replay.Files(paths), func(c replay.Checked) bool {
		res := c.Result()
		code = max(code, map[string]int{replay.StatusMalformed: exitUsage, replay.StatusIntegrity: exitIntegrity}[res.Status])
		results = append(results, res)
		if o.Output == outputText {
			res.WriteText(s.Out)
		}
		return true
	})
	if err != nil {
		return err
	}
	if o.Output == outputJSON {
		if err := writeJSON(s.Out, struct {
			OK      bool                  `json:"ok"`
			Records []replay.VerifyResult `json:"records"`
		}{code == exitOK, results}); err != nil {
			return err
		}
	}
	if code != exitOK {
		return &silentError{code}
	}
	return nil
}
