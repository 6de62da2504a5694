package replay

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/reprise-dev/reprise/record"
)

// Where an effective sandbox setting came from.
const (
	FromRecord  = "record"  // the record's runtime.env_vars or runtime.limits
	FromFlag    = "flag"    // given explicitly (a flag)
	FromDefault = "default" // neither: reprise's default
)

// Explicit says which of Options.Launch's settings were given explicitly
// (flags). The others are defaults: the record's runtime.limits replace
// them where it has a value. Every variable in Launch.Env is explicit.
type Explicit struct {
	Memory, CPUs, Pids, RunTimeout, SessionTimeout bool
}

// Setting is one effective sandbox setting and where it came from.
type Setting struct {
	// Name is memory_bytes, cpus, pids, run_timeout, session_timeout, or
	// env.NAME for an extra environment variable.
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

// Environment is what the system ran with: every effective sandbox setting
// and whether the environment was pinned (the runner ran the pinned image
// and the extra environment is what the record pins).
type Environment struct {
	Pinned   bool      `json:"pinned"`
	Reasons  []string  `json:"reasons"`
	Settings []Setting `json:"settings"`
}

// effective applies the record's runtime.env_vars and runtime.limits to
// opts.Launch (explicit settings win) and returns the provenance of every
// setting. Pinned is false when the extra environment differs from what the
// record pins; the reasons name the variables.
func effective(rec *record.Record, opts *Options) Environment {
	lo := &opts.Launch
	env := Environment{Pinned: true, Reasons: []string{}, Settings: []Setting{}}
	if lo.NoSandbox { // a running server gets no limits and no environment
		lo.Env = nil
		if len(rec.Runtime.EnvVars) > 0 || rec.Runtime.Limits != nil {
			env.Reasons = append(env.Reasons, "the server already runs: the record's runtime.env_vars and runtime.limits do not reach it")
		}
		return env
	}
	src := func(explicit bool, fromRec bool) string {
		switch {
		case explicit:
			return FromFlag
		case fromRec:
			return FromRecord
		}
		return FromDefault
	}
	var rl record.Limits
	if rec.Runtime.Limits != nil {
		rl = *rec.Runtime.Limits
	}
	limit := func(name string, cur *int64, explicit bool, pinned int64, format func(int64) string) {
		useRec := !explicit && pinned != 0
		if useRec {
			*cur = pinned
		}
		v := "runner's default"
		if *cur != 0 {
			v = format(*cur)
		}
		env.Settings = append(env.Settings, Setting{Name: name, Value: v, Source: src(explicit, useRec)})
	}
	itoa := func(v int64) string { return strconv.FormatInt(v, 10) }
	limit("memory_bytes", &lo.Limits.MemoryBytes, opts.Explicit.Memory, rl.MemoryBytes, itoa)
	limit("cpus", &lo.Limits.NanoCPUs, opts.Explicit.CPUs, rl.NanoCPUs, func(v int64) string { return strconv.FormatFloat(float64(v)/1e9, 'g', -1, 64) })
	limit("pids", &lo.Limits.Pids, opts.Explicit.Pids, rl.Pids, itoa)
	dur := func(d time.Duration) string {
		if d == 0 {
			return "none"
		}
		return d.String()
	}
	env.Settings = append(env.Settings,
		Setting{Name: "run_timeout", Value: dur(lo.RunTimeout), Source: src(opts.Explicit.RunTimeout, false)},
		Setting{Name: "session_timeout", Value: dur(lo.SessionTimeout), Source: src(opts.Explicit.SessionTimeout, false)})

	merged := map[string]string{}
	maps.Copy(merged, rec.Runtime.EnvVars)
	for _, k := range slices.Sorted(maps.Keys(lo.Env)) {
		v := lo.Env[k]
		pinned, ok := rec.Runtime.EnvVars[k]
		switch {
		case !ok:
			env.Pinned = false
			env.Reasons = append(env.Reasons, fmt.Sprintf("--env %s is not pinned by the record", k))
		case pinned != v:
			env.Pinned = false
			env.Reasons = append(env.Reasons, fmt.Sprintf("--env %s overrides the record's value %q", k, pinned))
		}
		merged[k] = v
	}
	for _, k := range slices.Sorted(maps.Keys(merged)) {
		_, flag := lo.Env[k]
		env.Settings = append(env.Settings, Setting{Name: "env." + k, Value: merged[k], Source: src(flag, true)})
	}
	if len(merged) == 0 {
		merged = nil
	}
	lo.Env = merged
	return env
}
