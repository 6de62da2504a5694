package main

import (
	"context"
	"log/slog"

	"github.com/reprise-dev/reprise/replay"
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
		return &endpoint.Runner{URL: o.URL}, nil
	}
	r, err := docker.New(ctx, docker.Options{Logger: log, Offline: o.Offline})
	if err != nil {
		return nil, err // not a typed nil
	}
	return r, nil
}

// closeRunner releases a runner's resources (the engine client) if it holds any.
func closeRunner(r replay.Runner) {
	if c, ok := r.(interface{ Close() error }); ok {
		c.Close()
	}
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
