package nightly

import (
	"errors"
	"fmt"
	"time"

	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/verdict"
)

// Request is a night as the flags of nightly give it; Options turns it
// into Options.
type Request struct {
	Sample   int
	Stratify string // "" or "system"
	Seed     uint64
	Parallel int
	FDR      float64
	MinRate  float64
	// Out is the output folder; "" is DefaultOut.
	Out   string
	Shard string // i/n, or ""
	// N is -n: exactly N runs per record when given, else sequential.
	N, ConfirmN, FleetRuns    int
	FleetAlpha                float64
	MinFrequency, Alpha, Conf float64
	// Given reports whether a flag was given (-n, --confirm-n,
	// --fleet-runs and the sandbox settings' flags).
	Given func(flag string) bool
}

// Validate checks the request; its error names the first flag at fault.
func (r *Request) Validate() error {
	var msg string
	switch {
	case r.Stratify != "" && r.Stratify != "system":
		msg = fmt.Sprintf("--stratify: only \"system\" is supported, got %q", r.Stratify)
	case r.Sample < 0:
		msg = "--sample must not be negative"
	case r.Parallel < 1:
		msg = "--parallel must be at least 1"
	case !(r.FDR > 0 && r.FDR < 1):
		msg = fmt.Sprintf("--fdr must be in (0, 1), got %g", r.FDR)
	case r.MinRate < 0 || r.MinRate >= 1:
		msg = fmt.Sprintf("--min-rate must be in [0, 1), got %g", r.MinRate)
	case r.N < 1 || r.N > 1_000_000:
		msg = fmt.Sprintf("-n must be between 1 and 1000000, got %d", r.N)
	case r.ConfirmN < 1 || r.ConfirmN > 1_000_000/ConfirmGrowth:
		msg = fmt.Sprintf("--confirm-n must be between 1 and %d, got %d", 1_000_000/ConfirmGrowth, r.ConfirmN)
	case r.FleetRuns < 0 || !(r.FleetAlpha > 0 && r.FleetAlpha < 1):
		msg = fmt.Sprintf("--fleet-runs must not be negative (0: off) and --fleet-alpha must be in (0, 1), got %d and %g", r.FleetRuns, r.FleetAlpha)
	case r.Given("confirm-n") && r.Given("n"):
		msg = "--confirm-n is for sequential nights: with -n every record gets exactly N runs and no confirming replay"
	default:
		return nil
	}
	return errors.New(msg)
}

// Options are the night's options begun at now (without the log, its
// filter and limits, the runner, the session settings and the progress).
// Its errors are the rules' (verdict.ErrRules) and a malformed --shard.
func (r *Request) Options(now time.Time) (Options, error) {
	rules := verdict.Rules{MinFrequency: r.MinFrequency, Alpha: r.Alpha, Conf: r.Conf}.WithDefaults()
	if err := rules.Validate(); err != nil {
		return Options{}, err
	}
	var shard Shard
	if r.Shard != "" {
		var err error
		if shard, err = ParseShard(r.Shard); err != nil {
			return Options{}, fmt.Errorf("--shard: %v", err)
		}
	}
	out := r.Out
	if out == "" {
		out = DefaultOut(now, shard)
	}
	return Options{Sample: r.Sample, Stratify: r.Stratify == "system", Seed: r.Seed,
		Parallel: r.Parallel, FDR: r.FDR, MinRate: r.MinRate, Out: out, Shard: shard,
		// As replay: sequential (each record stops once settled, at most
		// verdict.DefaultMaxRuns runs) unless -n asks for exactly N runs.
		Replay:   replay.Options{N: r.N, Sequential: !r.Given("n"), MaxRuns: verdict.DefaultMaxRuns, Rules: rules, Explicit: replay.ExplicitFrom(r.Given)},
		ConfirmN: r.ConfirmN, FleetRuns: r.fleetRuns(), NoFleet: r.FleetRuns == 0, FleetAlpha: r.FleetAlpha,
	}, nil
}

// fleetRuns is --fleet-runs for Options: 0 (the default: N with -n, else
// the smaller of DefaultFleetRuns and --confirm-n) when not given.
func (r *Request) fleetRuns() int {
	if !r.Given("fleet-runs") {
		return 0
	}
	return r.FleetRuns
}
