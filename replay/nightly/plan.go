package nightly

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/verdict"
)

// Plan is what a night would replay, drawn exactly as Run draws it
// (PlanNight): the night.json the night would write (its selection, counts
// and sample), the systems of the whole sample with their shards, and the
// runs to expect. Nothing is replayed and nothing is written.
type Plan struct {
	// Config is night.json as the night would write it: Records are the
	// request ids of this night's (or shard's) sample, in replay order.
	Config  *Config      `json:"config"`
	Systems []PlanSystem `json:"systems"`
	Runs    RunEstimate  `json:"runs"`
}

// PlanSystem is one system of the night's whole sample (every shard's).
type PlanSystem struct {
	// Key is the system key (SystemKey), Name its short human name.
	Key  string `json:"key"`
	Name string `json:"name"`
	// Records are the system's drawn records; Sessions the sessions that
	// serve them (one per protocol, environment and limits).
	Records  int `json:"records"`
	Sessions int `json:"sessions"`
	// Shard is the system's shard i of the night's --shard i/n (nil when
	// the night is not sharded), InShard whether it is this shard's.
	Shard   *int `json:"shard,omitempty"`
	InShard bool `json:"in_shard"`
}

// RunEstimate is how many runs of the system a night's records take:
// Min to Max in all (Fixed: -n N, every record N fresh seeds plus its
// pinned seed and, after a mismatch, the seed probe). A sequential night's
// Max is an upper bound: every record going to MaxRuns fresh seeds and
// both confirming replays; its Min, every record settled by its pinned seed.
type RunEstimate struct {
	Records int   `json:"records"`
	Fixed   bool  `json:"fixed"`
	Min     int64 `json:"min"`
	Max     int64 `json:"max"`
}

// PlanNight draws the sample of the night opts describes, as Run would
// draw it (a night already begun in opts.Out keeps its time bounds, and a
// different one there is ErrOtherNight), and returns its Plan. Its errors
// are Run's before the first replay: ErrOptions, ErrLog, ErrConfig,
// ErrOtherNight, ctx's.
func PlanNight(ctx context.Context, opts Options) (*Plan, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg, err := newConfig(ctx, opts)
	if err != nil {
		return nil, err
	}
	if opts.Out != "" {
		prev, err := ReadConfig(opts.Out)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if prev != nil {
			if err := cfg.resumes(prev, opts.Out); err != nil {
				return nil, err
			}
			opts.Filter.Time.Since, opts.Filter.Time.Until = cfg.Since, cfg.Until
		}
	}
	d, err := drawAll(opts, cfg)
	if err != nil {
		return nil, err
	}
	mine := shardOf(d.Records, opts.Shard, cfg)
	return &Plan{Config: cfg, Systems: planSystems(d, opts.Shard), Runs: estimateRuns(mine, opts)}, nil
}

// planSystems are the systems of the whole sample, by system key.
func planSystems(d *drawn, shard Shard) []PlanSystem {
	var out []PlanSystem
	at := map[string]int{}
	for _, g := range group(d.Records) {
		k := SystemKey(g[0])
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, PlanSystem{Key: k, Name: SystemName(g[0]), InShard: shard.Has(k)})
			if shard.N > 1 {
				s := shardIndex(k, shard.N)
				out[i].Shard = &s
			}
		}
		out[i].Records += len(g)
		out[i].Sessions++
	}
	slices.SortFunc(out, func(a, b PlanSystem) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// shardIndex is the shard of n that holds the system key.
func shardIndex(key string, n int) int {
	for i := range n {
		if (Shard{I: i, N: n}).Has(key) {
			return i
		}
	}
	return -1 // not reached: every key is in one shard
}

// estimateRuns counts the runs recs take under opts (defaults applied).
func estimateRuns(recs []*record.Record, opts Options) RunEstimate {
	e := RunEstimate{Records: len(recs), Fixed: !opts.Replay.Sequential}
	maxRuns := int64(opts.Replay.MaxRuns)
	if maxRuns <= 0 {
		maxRuns = verdict.DefaultMaxRuns
	}
	confirm := int64(0)
	for stage, n := 0, int64(opts.ConfirmN); stage < ConfirmStages && n > 0; stage, n = stage+1, n*ConfirmGrowth {
		confirm += n + verdict.PinnedRuns // its fresh seeds, its pinned seed and probe runs
	}
	for _, r := range recs {
		pinned := int64(0)
		if r.Params.Seed != nil {
			pinned = 1
		}
		if e.Fixed {
			n := int64(opts.Replay.N)
			e.Min += n + pinned
			e.Max += n + verdict.PinnedRuns*pinned
			continue
		}
		e.Min += max(pinned, 1)
		e.Max += maxRuns + verdict.PinnedRuns*pinned + confirm
	}
	return e
}

// Text writes the plan for a terminal: the log, the selection and the
// sample, the shard, a line per system and the runs.
func (p *Plan) Text(w io.Writer) error {
	c := p.Config
	fmt.Fprintf(w, "plan: nothing replayed\nlog: %s (%s, %d bytes)\n", c.Log, c.LogDigest, c.LogSize)
	fmt.Fprintf(w, "selected %d of %d rows scanned; %d row errors", c.Selected, c.Scanned, c.RowErrors)
	if c.RowErrors > 0 {
		fmt.Fprintf(w, " (--output json lists the first %d)", min(int(c.RowErrors), MaxRowErrors))
	}
	fmt.Fprintf(w, "\ndrew %d records (--sample %d, seed %d", c.Drawn, c.Sample, c.Seed)
	if c.Stratify {
		fmt.Fprint(w, ", per system")
	}
	fmt.Fprintln(w, ")")
	if c.Empty != "" {
		fmt.Fprintf(w, "why: %s\n", c.Empty)
	}
	if c.Shard != "" {
		fmt.Fprintf(w, "shard %s: %d of the %d records\n", c.Shard, len(c.Records), c.Drawn)
	}
	for _, s := range p.Systems {
		fmt.Fprintf(w, "  %s: %s, %s", s.Name, plural(s.Records, "record"), plural(s.Sessions, "session"))
		if s.Shard != nil {
			mark := ""
			if s.InShard {
				mark = ", this shard"
			}
			fmt.Fprintf(w, ", shard %d%s", *s.Shard, mark)
		}
		fmt.Fprintln(w)
	}
	r := p.Runs
	if r.Fixed {
		fmt.Fprintf(w, "runs: %d to %d for %d records (-n %d fresh seeds each, plus the pinned seed and its probe runs)\n", r.Min, r.Max, r.Records, c.N)
	} else {
		fmt.Fprintf(w, "runs: %d to at most %d for %d records (sequential, confirming replays of --confirm-n %d)\n", r.Min, r.Max, r.Records, c.ConfirmN)
	}
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
