package compare

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/replay/nightly"
)

// Request is a comparison as the flags of compare give it (but the log,
// its selection and the two systems); Options turns it into Options.
type Request struct {
	Sample                   int
	Seed                     uint64
	N                        int
	Alpha, Margin, FDR, Conf float64
	// Out is the output folder; "" is DefaultOut.
	Out   string
	Shard string // i/n, or ""
	// Given reports whether a flag was given (the sandbox settings').
	Given func(flag string) bool
}

// Validate checks the counts and levels; its error names the first flag
// at fault.
func (r *Request) Validate() error {
	var msg string
	switch {
	case r.Sample < 0:
		msg = "--sample must not be negative"
	case r.N < 1 || r.N > 100_000:
		msg = fmt.Sprintf("-n must be between 1 and 100000, got %d", r.N)
	case !(r.Alpha > 0 && r.Alpha < 1), !(r.FDR > 0 && r.FDR < 1), !(r.Conf > 0 && r.Conf < 1):
		msg = "--alpha, --fdr and --conf must be in (0, 1)"
	case !(r.Margin > 0 && r.Margin < 1):
		msg = fmt.Sprintf("--margin must be in (0, 1), got %g", r.Margin)
	default:
		return nil
	}
	return errors.New(msg)
}

// Options are the comparison's options begun at now, without the log, its
// filter and limits, the systems, the runner and the session settings; its
// error is a malformed --shard.
func (r *Request) Options(now time.Time) (Options, error) {
	var shard nightly.Shard
	if r.Shard != "" {
		var err error
		if shard, err = nightly.ParseShard(r.Shard); err != nil {
			return Options{}, fmt.Errorf("--shard: %v", err)
		}
	}
	out := r.Out
	if out == "" {
		out = DefaultOut(now, shard)
	}
	return Options{Sample: r.Sample, Seed: r.Seed, N: r.N, Alpha: r.Alpha, Margin: r.Margin, FDR: r.FDR, Conf: r.Conf,
		Out: out, Shard: shard, Replay: replay.Options{Explicit: replay.ExplicitFrom(r.Given)}}, nil
}

// DefaultOut is the output folder of a comparison begun at now:
// out/compare-<date>, with -shard-i-of-n for a shard.
func DefaultOut(now time.Time, s nightly.Shard) string {
	out := filepath.Join("out", "compare-"+now.UTC().Format("2006-01-02"))
	if s.N > 0 {
		out += fmt.Sprintf("-shard-%d-of-%d", s.I, s.N)
	}
	return out
}
