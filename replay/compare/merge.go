package compare

import (
	"fmt"
	"slices"

	"github.com/reprise-dev/reprise/replay/nightly"
)

// Merge combines the shards in dirs (each a finished comparison with the
// same log, sample, systems and settings, shards i/n covering 0..n-1 once)
// into one comparison, finalized over every record: the result is the
// unsharded comparison's. Folders that do not make one are ErrShards.
func Merge(dirs []string) (*Comparison, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%w: no shard folders", ErrShards)
	}
	var base *Config
	var all []Decision
	seen := map[string]string{}
	total := 0
	for _, d := range dirs {
		c, err := ReadConfig(d)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrShards, d, err)
		}
		sh := nightly.Shard{I: 0, N: 1}
		if c.Shard != "" {
			if sh, err = nightly.ParseShard(c.Shard); err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrShards, d, err)
			}
		}
		if first, dup := seen[c.Shard]; dup {
			return nil, fmt.Errorf("%w: %s and %s are both shard %s", ErrShards, first, d, c.Shard)
		}
		seen[c.Shard], total = d, sh.N
		probe := *c
		probe.Shard = ""
		if base == nil {
			base = &probe
			base.Records = nil
		} else if !base.same(&probe) || !base.Since.Equal(c.Since) || !base.Until.Equal(c.Until) {
			return nil, fmt.Errorf("%w: %s is a shard of another comparison", ErrShards, d)
		}
		lines, err := readJournal(d)
		if err != nil {
			return nil, err
		}
		done := take(lines, c.Records)
		for _, id := range c.Records {
			r, ok := done[id]
			if !ok {
				return nil, fmt.Errorf("%w: shard %s (%s) has not finished: %s was not compared; rerun it", ErrShards, c.Shard, d, id)
			}
			all = append(all, r)
		}
		base.Records = append(base.Records, c.Records...)
	}
	if len(seen) != total {
		return nil, fmt.Errorf("%w: %d of %d shards given", ErrShards, len(seen), total)
	}
	slices.Sort(base.Records)
	return Finalize(base, all), nil
}
