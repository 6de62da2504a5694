package compare

import (
	"path/filepath"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/replay/nightly"
	"github.com/reprise-dev/reprise/system"
)

// Files in a comparison's output folder.
const (
	ConfigName  = "compare.json"
	JournalName = "journal.jsonl"
	LockName    = ".reprise.lock"
)

// ConfigSchema names compare.json.
const ConfigSchema = "reprise/compare/v1"

// SystemRef names a compared system: its composite id, hardware class and
// a short human name.
type SystemRef struct {
	ID            digest.Digest `json:"id"`
	HardwareClass string        `json:"hardware_class"`
	Name          string        `json:"name"`
}

// Config is compare.json: what fixes a comparison, so a rerun continues it
// and its shards merge.
type Config struct {
	Schema string `json:"schema"`
	nightly.Selection
	Seed   system.Seed64 `json:"seed"`
	Shard  string        `json:"shard,omitempty"`
	N      int           `json:"n"`
	A      SystemRef     `json:"a"`
	B      SystemRef     `json:"b"`
	Alpha  float64       `json:"alpha"`
	Margin float64       `json:"margin"`
	FDR    float64       `json:"fdr"`
	Conf   float64       `json:"conf"`
	// Sampled are the log's counts (as a night's) and the sample: Drawn
	// the records of the whole sample (every shard's), Records this
	// comparison's (or shard's).
	nightly.Sampled
}

// same reports whether two configs are the same comparison (counts,
// sample and time bounds aside).
func (c *Config) same(o *Config) bool {
	return c.Log == o.Log && c.LogSize == o.LogSize && c.LogDigest == o.LogDigest && c.Where == o.Where && c.Sample == o.Sample &&
		c.Seed == o.Seed && c.Shard == o.Shard && c.N == o.N && c.A == o.A && c.B == o.B && c.Alpha == o.Alpha &&
		c.Margin == o.Margin && c.FDR == o.FDR && c.Conf == o.Conf
}

// resumes checks that prev, the compare.json found in out, is the
// comparison c describes (ErrOther) and gives c prev's time bounds.
func (c *Config) resumes(prev *Config, out string) error {
	return c.Resume(&prev.Selection, prev.same(c), out, ConfigName, "comparison", ErrOther)
}

// write writes c as dir's compare.json, atomically.
func (c *Config) write(dir string) error {
	return journal.WriteJSON(filepath.Join(dir, ConfigName), c)
}

// ReadConfig reads dir's compare.json.
func ReadConfig(dir string) (*Config, error) {
	var c Config
	if err := journal.ReadJSON(filepath.Join(dir, ConfigName), ConfigSchema, &c, ErrConfig); err != nil {
		return nil, err
	}
	return &c, nil
}

// readJournal reads dir's journal lines (none when it has none).
func readJournal(dir string) ([]Decision, error) {
	return journal.ReadFile[Decision](filepath.Join(dir, JournalName))
}

// take is the journaled decisions of the sample by request id (a later
// line supersedes an earlier; lines of other request ids are ignored).
func take(ds []Decision, sample []string) map[string]Decision {
	in := make(map[string]bool, len(sample))
	for _, id := range sample {
		in[id] = true
	}
	out := map[string]Decision{}
	for _, d := range ds {
		if in[d.RequestID] {
			out[d.RequestID] = d
		}
	}
	return out
}

// lock takes dir's lock without waiting.
func lock(dir string) (func(), error) {
	return journal.LockDir(dir, LockName, "another comparison", ErrOut, ErrLocked)
}
