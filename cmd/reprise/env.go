package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/runners/hwclass"
)

type envOptions struct{ Output outputFormat }

func newEnvCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &envOptions{}
	cmd := newCommand("env", "Print this host's hardware class and environment snapshot", "", cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runEnv(ctx, s, o) })
	addOutputFlag(cmd, &o.Output, outputText)
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
	if v, err := engineVersion(ctx); err != nil {
		rep.DockerError = err.Error()
	} else {
		rep.Docker = v
	}
	if o.Output == outputJSON {
		return writeJSON(s.Out, rep)
	}
	fmt.Fprintf(s.Out, "hardware_class: %s\n", rep.HardwareClass)
	fmt.Fprintf(s.Out, "os:             %s\n", rep.OS)
	fmt.Fprintf(s.Out, "kernel:         %s\n", rep.Kernel)
	fmt.Fprintf(s.Out, "arch:           %s\n", rep.Arch)
	fmt.Fprintf(s.Out, "cpu:            %s (%d cpus)\n", rep.CPUModel, rep.CPUs)
	fmt.Fprintf(s.Out, "go:             %s\n", rep.GoVersion)
	for _, l := range rep.GPULines() { // NVIDIA GPUs, from nvidia-smi
		fmt.Fprintln(s.Out, l)
	}
	if rep.Docker != "" {
		fmt.Fprintf(s.Out, "docker:         %s\n", rep.Docker)
	} else {
		fmt.Fprintf(s.Out, "docker:         unavailable (%s)\n", rep.DockerError)
	}
	return nil
}
