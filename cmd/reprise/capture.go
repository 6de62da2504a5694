package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/runners/hwclass"
)

// captureOptions are the flags of `record create --capture`.
type captureOptions struct {
	Capture bool
	runnerOptions
}

func addCaptureFlags(cmd *cobra.Command, o *recordCreateOptions) {
	cmd.Flags().BoolVar(&o.capture.Capture, "capture", false, "run the pinned system once on the input and record its output (instead of --label/--score/--text)")
	o.capture.runnerOptions.addFlags(cmd)
}

func (o *recordCreateOptions) captureEnabled() bool { return o.capture.Capture }

// capture runs the pinned system once and fills rec.Output from its answer;
// the raw response bytes are put into the store. Without --seed a random seed
// is drawn and recorded, so the decision can be replayed exactly.
func capture(ctx context.Context, g *globalOptions, s *streams, o *recordCreateOptions, st *store.Store, rec *record.Record) error {
	if o.set("label") || o.set("score") || o.set("text") || o.OutputFile != "" {
		return usageErrorf("--capture records the system's own output: drop --label, --score, --text and --output-file")
	}
	ro := &o.capture.runnerOptions
	if err := ro.validate(); err != nil {
		return err
	}
	limits, err := ro.limits()
	if err != nil {
		return err
	}
	env, err := ro.env()
	if err != nil {
		return err
	}
	if host := hwclass.Detect(ctx); rec.Runtime.HardwareClass != host {
		return usageErrorf("--capture runs on this host (%s); --hardware-class %s would misstate where the decision was made", host, rec.Runtime.HardwareClass)
	}
	if rec.Params.Seed == nil {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		seed := int64(binary.BigEndian.Uint64(b[:]) >> 1)
		rec.Params.Seed = &seed
	}
	log := g.logger(s)
	runner, err := newRunner(ctx, ro, log)
	if err != nil {
		return err
	}
	defer closeRunner(runner)
	resp, info, err := replay.Capture(ctx, st, rec, runner, replay.Options{
		Limits: limits, RunTimeout: ro.RunTimeout, SessionTimeout: ro.SessionTimeout, Env: env, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	if resp.Label == nil && resp.Score == nil && resp.Text == nil {
		return fmt.Errorf("capture: the system answered no label, score or text: %s", resp.Raw)
	}
	rec.Output.Label, rec.Output.Score, rec.Output.Text = resp.Label, resp.Score, resp.Text
	d, err := st.PutBytes(ctx, resp.Raw, store.Meta{MediaType: "application/json", Name: "output of " + rec.RequestID})
	if err != nil {
		return err
	}
	rec.Output.Digest = d
	if info.Runner == "process" && rec.Runtime.Env != nil {
		rec.Runtime.Env.Driver = "process runner: environment not pinned"
	}
	log.Info("captured", "label", fmtPtr(resp.Label), "score", fmtPtr(resp.Score), "digest", d)
	return nil
}

func fmtPtr[T any](p *T) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}
