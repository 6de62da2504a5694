package main

import (
	"context"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/docker"
	"github.com/reprise-dev/reprise/runopts"
)

// newRunner builds the runner selected by o (runopts.Options.NewRunner).
func newRunner(ctx context.Context, o *runnerOptions, log *slog.Logger) (replay.Runner, error) {
	return o.NewRunner(ctx, log)
}

func (o *runnerOptions) validate() error { return o.Validate() }

func (o *runnerOptions) launchOptions(ctx context.Context) (launch.Options, error) {
	return o.Launch(ctx)
}

// declaredRuntime is what the runner flags say about a decision made
// elsewhere (runopts.Options.Declared).
func (o *runnerOptions) declaredRuntime() (map[string]string, *record.Limits, error) {
	return o.Declared()
}

// checkEnvNames refuses an --env name a record cannot hold.
var checkEnvNames = runopts.CheckEnvNames

// engineVersion reports the Docker engine's version, e.g. "docker 20.10.24 (API 1.41)".
func engineVersion(ctx context.Context) (string, error) {
	r, err := docker.New(ctx, docker.Options{})
	if err != nil {
		return "", err
	}
	defer r.Close()
	return r.Engine(), nil
}

// addInFlightFlags adds the flags that bound the runs in flight.
func (o *runnerOptions) addInFlightFlags(f *pflag.FlagSet) {
	o.InFlight = true
	f.IntVar(&o.Concurrency, "concurrency", 1, "HTTP protocols: requests sent at once, to reproduce systems whose outputs depend on server-side batching (1 to 256); stdio protocols take 1")
	f.IntVar(&o.Window, "stdio-window", runners.DefaultWindow, "stdio protocols: requests kept in flight once the system echoes request ids (1 to 1024; 1 sends one at a time); answers stay in order and each is checked against its request id")
}
