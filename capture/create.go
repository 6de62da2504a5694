package capture

import (
	"context"
	"fmt"
	"io"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
)

// Typed is the output of a record typed in by hand and what the decision
// ran with, as record create without --capture is given them.
type Typed struct {
	Output output.Output
	// Raw, when not nil, is the canonical response bytes
	// (CanonicalResponse), stored under RawName (ManualOutput).
	Raw     io.Reader
	RawName string
	// Env, Limits and SeedBits are the decision's runtime (SeedBits 64,
	// all bits, is left out of the record).
	Env      map[string]string
	Limits   *record.Limits
	SeedBits int
}

// BuildTyped builds the record of parts in st with the typed output t.
func BuildTyped(ctx context.Context, st Store, parts Parts, t Typed) (*record.Record, error) {
	rec, err := Build(ctx, st, parts)
	if err != nil {
		return nil, err
	}
	rec.Runtime.EnvVars, rec.Runtime.Limits = t.Env, t.Limits
	rec.Runtime.SeedBits = t.SeedBits % record.MaxSeedBits
	return rec, ManualOutput(ctx, st, rec, t.Output, t.Raw, t.RawName)
}

// BuildCaptured builds the record of parts in st and records the output
// of one run of its system (Capture with opts) on the session with starts
// (the caller owns it). What the system ran with, lo's environment and
// limits, goes into the record, so a replay need not guess it.
func BuildCaptured(ctx context.Context, st Store, parts Parts, lo launch.Options, opts Options,
	with func(launch.Target, func(*launch.Session) error) error) (*record.Record, error) {
	rec, err := Build(ctx, st, parts)
	if err != nil {
		return nil, err
	}
	if len(lo.Env) > 0 {
		rec.Runtime.EnvVars = lo.Env
	}
	rec.Runtime.Limits = &record.Limits{MemoryBytes: lo.Limits.MemoryBytes, NanoCPUs: lo.Limits.NanoCPUs, Pids: lo.Limits.Pids}
	err = with(launch.FromRecord(rec), func(sess *launch.Session) error {
		_, err := Capture(ctx, st, rec, sess, opts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	return rec, nil
}
