package runopts

import (
	"context"
	"log/slog"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/runners/docker"
	"github.com/reprise-dev/reprise/runners/process"
)

// RemoveSessionDirs removes the session folders a killed reprise left in
// the temp folder: launch's work folders and the process runner's homes
// of this user whose reprise process is gone (launch.RemoveOrphans). It
// returns their paths.
func RemoveSessionDirs() ([]string, error) {
	return launch.RemoveOrphans("", launch.WorkDirPrefix, process.HomePrefix)
}

// RemoveContainers force-removes the containers with the reprise label
// whose lease is no longer held, or, with all, every one
// (docker.RemoveLeftovers). It returns their ids; an engine that cannot be
// reached is an error.
func RemoveContainers(ctx context.Context, all bool, log *slog.Logger) ([]string, error) {
	r, err := docker.New(ctx, docker.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return docker.RemoveLeftovers(ctx, r.Client(), all)
}

// EngineVersion reports the Docker engine's version, e.g. "docker 20.10.24
// (API 1.41)".
func EngineVersion(ctx context.Context) (string, error) {
	r, err := docker.New(ctx, docker.Options{})
	if err != nil {
		return "", err
	}
	defer r.Close()
	return r.Engine(), nil
}
