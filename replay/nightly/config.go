package nightly

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"time"

	"github.com/reprise-dev/reprise/buildinfo"
	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/system"
	"github.com/reprise-dev/reprise/verdict"
)

// Files in a night's output folder.
const (
	ConfigName  = "night.json"
	JournalName = "journal.jsonl"
	LockName    = ".reprise.lock"
	RecordsDir  = "records"
)

// ConfigSchema names night.json. v2: bottom-k sampling and record p-values
// corrected over their tests (a v1 night draws another sample and keeps
// other p-values, so it neither resumes nor merges). v3: the log is
// identified by the digest of its content, not its path and size (a v2
// night cannot tell whether its log was rewritten, so it neither resumes
// nor merges).
const ConfigSchema = "reprise/nightly/v3"

// Config is night.json: what fixes a night, so a rerun continues the same
// night (and a shard merges with its siblings).
type Config struct {
	Schema string `json:"schema"`
	// Started is when the night began (a resumed night keeps it); Version
	// is the reprise that began it (buildinfo.Version()).
	Started time.Time `json:"started,omitzero"`
	Version string    `json:"reprise_version,omitempty"`
	Selection
	Stratify bool          `json:"stratify"`
	Seed     system.Seed64 `json:"seed"`
	Shard    string        `json:"shard,omitempty"`
	N        int           `json:"n"`
	// Sequential: each record's replay stops as soon as its verdict is
	// settled, at most MaxRuns fresh-seed runs (N is then unused); a fixed
	// replay (-n) runs N.
	Sequential bool `json:"sequential"`
	MaxRuns    int  `json:"max_runs,omitempty"`
	// ConfirmN is the runs of a confirming replay (0: none, -n given).
	ConfirmN int           `json:"confirm_n,omitempty"`
	Rules    verdict.Rules `json:"rules"`
	FDR      float64       `json:"fdr"`
	MinRate  float64       `json:"min_rate"`
	// FleetRuns and FleetAlpha are the fleet test's (FleetRuns 0: off).
	FleetRuns  int     `json:"fleet_runs,omitempty"`
	FleetAlpha float64 `json:"fleet_alpha,omitempty"`
	Sampled
}

// Selection is what a config (night.json, and compare.json: a comparison
// draws its sample as a night does, DrawSample) says of the log and of
// what it selects of it: the log, its rows (--where, the time bounds) and
// the sample size.
type Selection struct {
	Log     string `json:"log"`
	LogSize int64  `json:"log_size"`
	// LogDigest is the sha256 of the log's bytes: a night resumes, and
	// shards merge, only over the log they began with.
	LogDigest digest.Digest `json:"log_digest"`
	Where     string        `json:"where,omitempty"`
	Since     time.Time     `json:"since,omitzero"`
	Until     time.Time     `json:"until,omitzero"`
	Sample    int           `json:"sample"`
}

// Sampled is what drawing the sample found, as a config (night.json,
// compare.json) keeps it: the log's counts and the sample.
type Sampled struct {
	// Scanned is the number of log rows read; RowErrors the rows that are
	// not valid records (the first MaxRowErrors are listed).
	Scanned   int64             `json:"scanned"`
	Selected  int64             `json:"selected"`
	RowErrors int64             `json:"row_errors"`
	Listed    []record.RowError `json:"row_errors_listed"`
	// Drawn is the number of records of the whole sample (of every shard).
	Drawn int `json:"drawn"`
	// Empty says why nothing was selected ("" when something was): what
	// the filter, the time bounds and the log's rows gave.
	Empty string `json:"empty,omitempty"`
	// Records are the request ids of this night's or comparison's (or
	// shard's) sample.
	Records []string `json:"records"`
}

// MaxRowErrors is how many row errors night.json lists.
const MaxRowErrors = 100

// same reports whether two configs are the same night (the log's rows and
// the time of the first start aside).
func (c *Config) same(o *Config) bool {
	return c.Log == o.Log && c.LogSize == o.LogSize && c.LogDigest == o.LogDigest && c.Where == o.Where && c.Sample == o.Sample &&
		c.Stratify == o.Stratify && c.Seed == o.Seed && c.Shard == o.Shard && c.N == o.N && c.ConfirmN == o.ConfirmN && c.Rules == o.Rules &&
		c.FDR == o.FDR && c.MinRate == o.MinRate && c.FleetRuns == o.FleetRuns && c.FleetAlpha == o.FleetAlpha
}

// newConfig is the config of the night opts asks for (no counts, no
// sample yet); it reads the log's size and digest (hashLog).
func newConfig(ctx context.Context, opts Options) (*Config, error) {
	d, size, err := hashLog(ctx, opts.Log)
	if err != nil {
		return nil, err
	}
	cfg := &Config{Schema: ConfigSchema, Version: buildinfo.Version(),
		Selection: Selection{Log: opts.Log, LogSize: size, LogDigest: d, Since: opts.Filter.Time.Since, Until: opts.Filter.Time.Until, Sample: opts.Sample},
		Stratify:  opts.Stratify, Seed: system.Seed64(opts.Seed), Shard: opts.Shard.String(),
		N: opts.Replay.N, Sequential: opts.Replay.Sequential, MaxRuns: maxRuns(opts.Replay), ConfirmN: opts.ConfirmN, Rules: opts.Replay.Rules, FDR: opts.FDR, MinRate: opts.MinRate,
		FleetRuns: opts.FleetRuns, FleetAlpha: opts.FleetAlpha}
	if opts.Filter.Where != nil {
		cfg.Where = opts.Filter.Where.String()
	}
	return cfg, nil
}

// maxRuns is the cap of a sequential replay under o (0 for a fixed one).
func maxRuns(o replay.Options) int {
	switch {
	case !o.Sequential:
		return 0
	case o.MaxRuns > 0:
		return o.MaxRuns
	}
	return verdict.DefaultMaxRuns
}

// hashLog is the sha256 and the size of the log at path, a regular file,
// read in full (it stops with ctx's error when ctx is done); its other
// errors wrap ErrLog.
func hashLog(ctx context.Context, path string) (digest.Digest, int64, error) {
	f, _, err := fsread.Open(path)
	if err != nil {
		return digest.Digest{}, 0, fmt.Errorf("%w: log: %v", ErrLog, err)
	}
	defer f.Close()
	d, n, err := digest.FromReader(fsread.Reader(ctx, f))
	if ctx.Err() != nil {
		return digest.Digest{}, 0, ctx.Err()
	}
	if err != nil {
		return digest.Digest{}, 0, fmt.Errorf("%w: log %s: %v", ErrLog, path, err)
	}
	return d, n, nil
}

// resumes checks that prev, the night.json found in out, is the night cfg
// describes (ErrOtherNight), and gives cfg prev's time bounds, start and
// version: a resumed night keeps those it started with.
func (c *Config) resumes(prev *Config, out string) error {
	if err := c.Resume(&prev.Selection, prev.same(c), out, ConfigName, "night", ErrOtherNight); err != nil {
		return err
	}
	c.Started, c.Version = prev.Started, prev.Version
	return nil
}

// Resume checks that prev, the selection of the config file name found in
// the output folder out, is of the log s is (by its digest), and that the
// rest of the two configs agree (same), and gives s prev's time bounds: a
// resumed night or comparison keeps those it began with. Its errors wrap
// other and say what the folder holds ("night", "comparison").
func (s *Selection) Resume(prev *Selection, same bool, out, name, what string, other error) error {
	if prev.LogDigest != s.LogDigest {
		return fmt.Errorf("%w: %s holds a %s of another log: %s names log digest %s, and %s is now %s (it was rewritten since the %s began); use another --out",
			other, out, what, name, prev.LogDigest, s.Log, s.LogDigest, what)
	}
	if !same {
		return fmt.Errorf("%w: %s holds another %s (%s differs from this command's); use another --out", other, out, what, name)
	}
	s.Since, s.Until = prev.Since, prev.Until
	return nil
}

// sameSample checks that a resumed night drew the sample it started with
// (ErrOtherNight: the log changed).
func (c *Config) sameSample(prev *Config) error {
	if !slices.Equal(prev.Records, c.Records) {
		return fmt.Errorf("%w: the log no longer gives this night's sample (it changed since the night started); use another --out", ErrOtherNight)
	}
	return nil
}

// write writes c as dir's night.json, atomically.
func (c *Config) write(dir string) error {
	return journal.WriteJSON(filepath.Join(dir, ConfigName), c)
}

// ReadConfig reads dir's night.json.
func ReadConfig(dir string) (*Config, error) {
	var c Config
	err := journal.ReadJSON(filepath.Join(dir, ConfigName), ConfigSchema, &c, ErrConfig)
	if se := (*journal.SchemaError)(nil); errors.As(err, &se) {
		return nil, fmt.Errorf("%w: it cannot resume or merge that night (start it again in another --out)", err)
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ReadJournal reads dir's journal: the finished records by request id. A
// last line cut short by a kill is ignored (that record runs again).
func ReadJournal(dir string) (map[string]Result, error) {
	rs, err := readJournal(dir)
	if err != nil {
		return nil, err
	}
	return byRequest(rs), nil
}

// readJournal reads dir's journal lines (none when it has no journal).
func readJournal(dir string) ([]Result, error) {
	return journal.ReadFile[Result](filepath.Join(dir, JournalName))
}

// maxJournalWarnings is how many journal lines not taken are logged one by
// one; the rest are counted in one more warning.
const maxJournalWarnings = 10

// takeResults is the finished records of a night's journal lines rs by
// request id, those of its sample only (a later line of one supersedes an
// earlier; a line without a request id is not a result), and the lines it
// did not take as they are: a request id journaled again with another
// replay verdict, a request id outside the sample. Each of those is
// logged as a warning on log (nil: none), naming the journal at path.
func takeResults(rs []Result, sample []string, log *slog.Logger, path string) (map[string]Result, JournalCheck) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	in := make(map[string]bool, len(sample))
	for _, id := range sample {
		in[id] = true
	}
	var c JournalCheck
	warn := func(msg, id string, args ...any) {
		if n := c.Conflicts + c.Foreign; n <= maxJournalWarnings {
			log.Warn(msg, append([]any{"journal", path, "request_id", id}, args...)...)
		}
	}
	out := map[string]Result{}
	for _, r := range rs {
		switch {
		case r.RequestID == "":
			continue
		case !in[r.RequestID]:
			c.Foreign++
			warn("nightly: journal line of a request id outside the night's sample, ignored", r.RequestID)
			continue
		}
		if prev, ok := out[r.RequestID]; ok && prev.ReplayVerdict != r.ReplayVerdict {
			c.Conflicts++
			warn("nightly: request id journaled again with another verdict, the later line taken", r.RequestID,
				"earlier", string(prev.ReplayVerdict), "later", string(r.ReplayVerdict))
		}
		out[r.RequestID] = r
	}
	if n := c.Conflicts + c.Foreign; n > maxJournalWarnings {
		log.Warn("nightly: more journal lines not taken as they are", "journal", path, "conflicts", c.Conflicts, "foreign", c.Foreign, "not_logged", n-maxJournalWarnings)
	}
	return out, c
}

// byRequest is the finished records of a journal's results by request id
// (a later line of one supersedes an earlier; a line without one is not a
// result).
func byRequest(rs []Result) map[string]Result {
	out := map[string]Result{}
	for _, r := range rs {
		if r.RequestID != "" {
			out[r.RequestID] = r
		}
	}
	return out
}

// lock takes dir's lock without waiting; the returned function releases it.
func lock(dir string) (func(), error) {
	return journal.LockDir(dir, LockName, "another night", ErrOut, ErrLocked)
}

// rowError counts a row error, and lists it among the first MaxRowErrors.
func (c *Config) rowError(e record.RowError) {
	c.RowErrors++
	if len(c.Listed) < MaxRowErrors {
		c.Listed = append(c.Listed, e)
	}
}
