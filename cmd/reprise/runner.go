package main

import (
	"context"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/docker"
	"github.com/reprise-dev/reprise/runners/endpoint"
	"github.com/reprise-dev/reprise/runners/process"
)

var (
	_ replay.Runner = (*docker.Runner)(nil)
	_ replay.Runner = (*process.Runner)(nil)
	_ replay.Runner = (*endpoint.Runner)(nil)
)

// newRunner builds the runner selected by o.
func newRunner(ctx context.Context, o *runnerOptions, log *slog.Logger) (replay.Runner, error) {
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
	o.inFlightFlags = true
	f.IntVar(&o.Concurrency, "concurrency", 1, "HTTP protocols: requests sent at once, to reproduce systems whose outputs depend on server-side batching (1 to 256); stdio protocols take 1")
	f.IntVar(&o.Window, "stdio-window", runners.DefaultWindow, "stdio protocols: requests kept in flight once the system echoes request ids (1 to 1024; 1 sends one at a time); answers stay in order and each is checked against its request id")
}

// checkInFlight checks the ranges of --concurrency and --stdio-window
// (whether the protocol takes them is checked when the session starts).
func (o *runnerOptions) checkInFlight() error {
	if !o.inFlightFlags { // the defaults: one HTTP request at a time, the default stdio window
		o.Concurrency, o.Window = 1, 0
		return nil
	}
	if o.Concurrency < 1 || o.Concurrency > runners.MaxConcurrency {
		return usageErrorf("--concurrency %d: must be between 1 and %d", o.Concurrency, runners.MaxConcurrency)
	}
	if o.Window < 1 || o.Window > runners.MaxWindow {
		return usageErrorf("--stdio-window %d: must be between 1 and %d", o.Window, runners.MaxWindow)
	}
	return nil
}
