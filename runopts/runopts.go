package runopts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/docker"
	"github.com/reprise-dev/reprise/runners/endpoint"
	"github.com/reprise-dev/reprise/runners/hwclass"
	"github.com/reprise-dev/reprise/runners/process"
	"github.com/reprise-dev/reprise/system"
)

// ErrInvalid: an option out of range, malformed, or not for the runner
// chosen. Every error of Options matches it; its message names the flag.
var ErrInvalid = errors.New("invalid runner option")

type invalidError struct{ err error }

func (e *invalidError) Error() string        { return e.err.Error() }
func (e *invalidError) Unwrap() error        { return e.err }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, a ...any) error { return &invalidError{fmt.Errorf(format, a...)} }

// The runners NewRunner builds are launch's runners.
var (
	_ launch.Runner = (*docker.Runner)(nil)
	_ launch.Runner = (*process.Runner)(nil)
	_ launch.Runner = (*endpoint.Runner)(nil)
)

// Options select and configure the runner, as the flags of the same names
// give them (sizes as system.ParseBytes reads them: 512m, 2g).
type Options struct {
	Runner         string // docker, process or endpoint
	Entrypoint     string // the executable of the process runner
	URL            string // the running server of the endpoint runner
	StartTimeout   time.Duration
	RunTimeout     time.Duration
	SessionTimeout time.Duration
	Memory         string
	CPUs           float64
	Pids           int64
	TmpfsSize      string
	Offline        bool
	// AllowRegistry lists the registries images may be pulled from
	// (--allow-registry HOST[:PORT]); none by default.
	AllowRegistry []string
	// CredentialsFile holds the endpoint's USER:PASSWORD (--url-credentials-file).
	CredentialsFile string
	Env             []string // KEY=VALUE each
	// MaxResponseSize bounds one response of the system (e.g. 4m).
	MaxResponseSize string
	// Concurrency is the number of HTTP requests in flight (--concurrency);
	// Window bounds the pipelined requests of a stdio session
	// (--stdio-window). They are read only when InFlight is set (the verb
	// has the two flags); otherwise runs go one at a time.
	Concurrency, Window int
	InFlight            bool
	// AllowHardwareMismatch starts a system whose hardware class differs
	// from this host's.
	AllowHardwareMismatch bool
	// GPUs selects the GPUs of a gpu/nvidia system (--gpus, hwclass.ParseSelection).
	GPUs string
	// Given reports whether a flag was given (nil: whether its field is set).
	Given func(flag string) bool
	// Getenv reads the environment (nil: os.Getenv).
	Getenv func(string) string
}

// Launch checks the sandbox, environment and in-flight options and returns
// the session settings they make, with this host's hardware class.
func (o *Options) Launch(ctx context.Context) (launch.Options, error) {
	limits, err := o.limits()
	if err != nil {
		return launch.Options{}, err
	}
	env, err := o.env()
	if err != nil {
		return launch.Options{}, err
	}
	if err := o.checkInFlight(); err != nil {
		return launch.Options{}, err
	}
	maxResp, err := system.ParseBytes(o.MaxResponseSize)
	if err != nil || maxResp <= 0 {
		return launch.Options{}, invalidf("--max-response-size %q: want a positive size such as 4m", o.MaxResponseSize)
	}
	if _, err := hwclass.ParseSelection(o.GPUs); err != nil {
		return launch.Options{}, invalidf("--gpus: %v", err)
	}
	noSandbox := o.Runner == "endpoint" // a running server gets no limits and no environment
	if noSandbox {
		limits, env = runners.Limits{}, nil
	}
	return launch.Options{
		HostClass: hwclass.Detect(ctx), AllowHardwareMismatch: o.AllowHardwareMismatch,
		Limits: limits, StartTimeout: o.StartTimeout, RunTimeout: o.RunTimeout, SessionTimeout: o.SessionTimeout, Env: env,
		NoSandbox: noSandbox, MaxResponseBytes: maxResp, Concurrency: o.Concurrency, Window: o.Window, GPUs: o.GPUs,
	}, nil
}

// NewRunner builds the runner o selects (docker logs to log).
func (o *Options) NewRunner(ctx context.Context, log *slog.Logger) (launch.Runner, error) {
	switch o.Runner {
	case "process":
		return &process.Runner{Entrypoint: o.Entrypoint}, nil
	case "endpoint":
		user, err := o.endpointUser()
		if err != nil {
			return nil, err
		}
		return &endpoint.Runner{URL: o.URL, User: user}, nil
	}
	r, err := docker.New(ctx, docker.Options{Logger: log, Offline: o.Offline, AllowRegistries: o.AllowRegistry})
	if err != nil {
		return nil, err // not a typed nil
	}
	return r, nil
}

// Pool is a pool that makes its runner with NewRunner on first need.
func (o *Options) Pool(blobs launch.Blobs, log *slog.Logger) *launch.Pool {
	return launch.NewPool(blobs, launch.PoolOptions{NewRunner: func(ctx context.Context) (launch.Runner, error) { return o.NewRunner(ctx, log) }})
}

// Ranges of --cpus, in CPUs: system's ranges of Limits.
const (
	minCPUs     = system.MinNanoCPUs / 1e9
	maxCPUsHint = system.MaxNanoCPUs / 1e9
)

// maxCPUs is the largest --cpus: this host's CPUs (the engine refuses more).
func maxCPUs() float64 { return min(float64(runtime.NumCPU()), maxCPUsHint) }

func (o *Options) limits() (runners.Limits, error) {
	mem, err := o.memory()
	if err != nil {
		return runners.Limits{}, err
	}
	if math.IsNaN(o.CPUs) || o.CPUs < minCPUs || o.CPUs > maxCPUs() {
		return runners.Limits{}, invalidf("--cpus %g: must be between %g and %g (this host's CPUs)", o.CPUs, minCPUs, maxCPUs())
	}
	if err := o.checkPids(); err != nil {
		return runners.Limits{}, err
	}
	tmpfs, err := system.ParseBytes(o.TmpfsSize)
	if err != nil {
		return runners.Limits{}, invalidf("--tmpfs-size: %v", err)
	}
	return runners.Limits{MemoryBytes: mem, NanoCPUs: int64(math.Round(o.CPUs * 1e9)), Pids: o.Pids, TmpfsBytes: tmpfs}, nil
}

// memory is --memory in bytes, within the range of system.Limits.
func (o *Options) memory() (int64, error) {
	mem, err := system.ParseBytes(o.Memory)
	if err != nil {
		return 0, invalidf("--memory: %v", err)
	}
	if mem < system.MinMemoryBytes || mem > system.MaxMemoryBytes {
		return 0, invalidf("--memory %s: must be between 6m and 1t (6 MiB and 1 TiB), got %d bytes", o.Memory, mem)
	}
	return mem, nil
}

func (o *Options) checkPids() error {
	if o.Pids < system.MinPids || o.Pids > system.MaxPids {
		return invalidf("--pids %d: must be between %d and %d", o.Pids, system.MinPids, system.MaxPids)
	}
	return nil
}

func (o *Options) env() (map[string]string, error) {
	if len(o.Env) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range o.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, invalidf("--env %q: want KEY=VALUE", kv)
		}
		if slices.Contains(record.ReservedEnv, k) {
			return nil, invalidf("--env %s: reserved, reprise sets it (reserved: %s)", k, strings.Join(record.ReservedEnv, ", "))
		}
		m[k] = v
	}
	return m, nil
}

// checkInFlight checks the ranges of --concurrency and --stdio-window
// (whether the protocol takes them is checked when the session starts).
func (o *Options) checkInFlight() error {
	if !o.InFlight { // the defaults: one HTTP request at a time, the default stdio window
		o.Concurrency, o.Window = 1, 0
		return nil
	}
	if o.Concurrency < 1 || o.Concurrency > runners.MaxConcurrency {
		return invalidf("--concurrency %d: must be between 1 and %d", o.Concurrency, runners.MaxConcurrency)
	}
	if o.Window < 1 || o.Window > runners.MaxWindow {
		return invalidf("--stdio-window %d: must be between 1 and %d", o.Window, runners.MaxWindow)
	}
	return nil
}

// endpointUser is the basic auth of --url from --url-credentials-file or
// $REPRISE_ENDPOINT_PASSWORD (nil: the URL's own user info, if any).
func (o *Options) endpointUser() (*url.Userinfo, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	ui, err := endpoint.Credentials(o.URL, o.CredentialsFile, getenv)
	if err != nil {
		return nil, &invalidError{err}
	}
	return ui, nil
}

// WithSession starts one session of target (from blobs, with the session
// settings of Launch, logging to log), calls f with it and closes it on
// every path, Ctrl-C included.
func (o *Options) WithSession(ctx context.Context, blobs launch.Blobs, target launch.Target, log *slog.Logger, f func(*launch.Session) error) error {
	lo, err := o.Launch(ctx)
	if err != nil {
		return err
	}
	lo.Logger = log
	pool := o.Pool(blobs, log)
	defer pool.Close(context.WithoutCancel(ctx))
	sess, err := pool.Acquire(ctx, target, lo)
	if err != nil {
		return err
	}
	defer pool.Release(context.WithoutCancel(ctx), sess, false)
	return f(sess)
}
