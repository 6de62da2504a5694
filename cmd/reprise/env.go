package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/runners/hwclass"
	"github.com/reprise-dev/reprise/runopts"
)

type envOptions struct{ Output outputFormat }

func newEnvCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &envOptions{}
	cmd := newCommand("env", "Print this host's hardware class and environment snapshot", "", cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runEnv(ctx, s, o) })
	addFormatFlag(cmd, &o.Output, outputText)
	return cmd
}

// envReport is the output of `reprise env`.
type envReport struct {
	hwclass.Snapshot
	Docker      string `json:"docker,omitempty"`
	DockerError string `json:"docker_error,omitempty"`
}

func runEnv(ctx context.Context, s *streams, o *envOptions) error {
	rep := envReport{Snapshot: hwclass.Host(ctx)}
	if v, err := runopts.EngineVersion(ctx); err != nil {
		rep.DockerError = err.Error()
	} else {
		rep.Docker = v
	}
	if o.Output == outputJSON {
		return writeJSON(s.Out, rep)
	}
	rep.WriteText(s.Out)
	if rep.Docker != "" {
		fmt.Fprintf(s.Out, "docker:         %s\n", rep.Docker)
	} else {
		fmt.Fprintf(s.Out, "docker:         unavailable (%s)\n", rep.DockerError)
	}
	return nil
}
