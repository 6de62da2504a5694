package main

import (
	"context"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/runners"
)

// runners makes the runner the flags select, on first need
// (runopts.Options.NewRunner; docker logs to log).
func (o *runnerOptions) runners(log *slog.Logger) func(context.Context) (launch.Runner, error) {
	return func(ctx context.Context) (launch.Runner, error) { return o.NewRunner(ctx, log) }
}

// addInFlightFlags adds the flags that bound the runs in flight.
func (o *runnerOptions) addInFlightFlags(f *pflag.FlagSet) {
	o.InFlight = true
	f.IntVar(&o.Concurrency, "concurrency", 1, "HTTP protocols: requests sent at once, to reproduce systems whose outputs depend on server-side batching (1 to 256); stdio protocols take 1")
	f.IntVar(&o.Window, "stdio-window", runners.DefaultWindow, "stdio protocols: requests kept in flight once the system echoes request ids (1 to 1024; 1 sends one at a time); answers stay in order and each is checked against its request id")
}
