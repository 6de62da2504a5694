package runopts

import (
	"maps"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners/docker"
	"github.com/reprise-dev/reprise/runners/endpoint"
)

// Validate checks the runner and the options that only some runners take,
// and the timeouts.
func (o *Options) Validate() error {
	var err error
	switch o.Runner {
	case "docker":
		err = o.only("process", "entrypoint")
		if err == nil {
			err = o.only("endpoint", "url", "url-credentials-file")
		}
		if err == nil {
			err = o.registries()
		}
	case "endpoint":
		err = o.validateEndpoint()
	case "process":
		err = o.validateProcess()
	default:
		return invalidf("--runner must be docker, process or endpoint, got %q", o.Runner)
	}
	if err != nil {
		return err
	}
	if o.StartTimeout <= 0 || o.RunTimeout <= 0 || o.SessionTimeout <= 0 {
		return invalidf("--start-timeout, --run-timeout and --session-timeout must be positive")
	}
	return nil
}

// given reports whether a flag was given (or its field set, where no flag
// parsing filled o).
func (o *Options) given(flag string) bool {
	if o.Given != nil {
		return o.Given(flag)
	}
	switch flag {
	case "entrypoint":
		return o.Entrypoint != ""
	case "url":
		return o.URL != ""
	case "url-credentials-file":
		return o.CredentialsFile != ""
	case "allow-registry":
		return len(o.AllowRegistry) > 0
	case "env":
		return len(o.Env) > 0
	}
	return false
}

// only refuses flags that only the runner named takes.
func (o *Options) only(runner string, flags ...string) error {
	for _, f := range flags {
		if o.given(f) {
			return invalidf("--%s is only for --runner %s", f, runner)
		}
	}
	return nil
}

func (o *Options) validateProcess() error {
	if err := o.only("endpoint", "url", "url-credentials-file"); err != nil {
		return err
	}
	if err := o.only("docker", "allow-registry", "gpus"); err != nil {
		return err
	}
	if o.Entrypoint == "" {
		return invalidf("--runner process needs --entrypoint PATH")
	}
	if fi, err := os.Stat(o.Entrypoint); err != nil || fi.IsDir() {
		return invalidf("--entrypoint %s: not an executable file", o.Entrypoint)
	}
	return nil
}

// endpointIgnores are the flags of a sandbox the endpoint runner cannot
// apply: the server already runs, started by someone else.
var endpointIgnores = []string{"env", "memory", "cpus", "pids", "tmpfs-size", "gpus"}

func (o *Options) validateEndpoint() error {
	if err := o.only("process", "entrypoint"); err != nil {
		return err
	}
	if err := o.only("docker", "allow-registry"); err != nil {
		return err
	}
	for _, f := range endpointIgnores {
		if o.given(f) {
			return invalidf("--%s: --runner endpoint replays against a server that already runs, which gets no environment, limits or sandbox from reprise; set them where the server is started, or replay with --runner docker", f)
		}
	}
	if o.URL == "" {
		return invalidf("--runner endpoint needs --url URL")
	}
	if _, err := endpoint.ParseURL(o.URL); err != nil {
		return invalidf("--url: %v", err)
	}
	_, err := o.endpointUser()
	return err
}

// registries checks --allow-registry (HOST[:PORT] each) against --offline.
func (o *Options) registries() error {
	if o.Offline && len(o.AllowRegistry) > 0 {
		return invalidf("--offline never pulls, and --allow-registry %s allows pulls: give one of them", o.AllowRegistry[0])
	}
	for _, r := range o.AllowRegistry {
		if _, err := docker.ParseRegistry(r); err != nil {
			return invalidf("--allow-registry %q: %v", r, err)
		}
	}
	return nil
}

// CheckEnvNames refuses an --env name a record cannot hold
// (runtime.env_vars), before anything is stored or run.
func CheckEnvNames(env map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if !record.ValidEnvName(k) {
			return invalidf("--env %s: not an environment variable name (letters, digits and _, not starting with a digit, at most 200 characters)", k)
		}
	}
	return nil
}

// sessionOnly configure the session of a capture: without one nothing
// runs and nothing records them, so Declared refuses them.
var sessionOnly = []string{"runner", "entrypoint", "url", "start-timeout", "run-timeout", "session-timeout",
	"tmpfs-size", "offline", "max-response-size"}

// Declared is what --env, --memory, --cpus and --pids say about a decision
// made elsewhere (record create without --capture): exactly the options
// given, checked against the record's ranges (system.Limits; not this
// host's CPUs, as the decision may have run on another machine). Options
// that only configure a capture session are refused. The limits are nil
// when none is given.
func (o *Options) Declared() (map[string]string, *record.Limits, error) {
	var stray []string
	for _, name := range sessionOnly {
		if o.given(name) {
			stray = append(stray, "--"+name)
		}
	}
	if len(stray) > 0 {
		return nil, nil, invalidf("%s: only with --capture (they configure the session that captures the output; without --capture nothing runs)", strings.Join(stray, ", "))
	}
	env, err := o.env()
	if err == nil {
		err = CheckEnvNames(env)
	}
	if err != nil {
		return nil, nil, err
	}
	var l record.Limits
	if o.given("memory") {
		if l.MemoryBytes, err = o.memory(); err != nil {
			return nil, nil, err
		}
	}
	if o.given("cpus") {
		if math.IsNaN(o.CPUs) || o.CPUs < minCPUs || o.CPUs > maxCPUsHint {
			return nil, nil, invalidf("--cpus %g: must be between %g and %g", o.CPUs, minCPUs, maxCPUsHint)
		}
		l.NanoCPUs = int64(math.Round(o.CPUs * 1e9))
	}
	if o.given("pids") {
		if err := o.checkPids(); err != nil {
			return nil, nil, err
		}
		l.Pids = o.Pids
	}
	if l == (record.Limits{}) {
		return env, nil, nil
	}
	return env, &l, nil
}
