package main

import (
	"context"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners/hwclass"
)

type systemCreateOptions struct {
	capture.SystemParts
	Protocol, HardwareClass, Out string
}

func newSystemCmd(g *globalOptions, s *streams) *cobra.Command {
	return newGroup("system", "Composite versions without a decision (system files)", "", newSystemCreateCmd(g, s), newSystemDiffCmd(g, s))
}

// addSystemPartFlags adds the flags that name the parts of a composite
// version (record create, system create).
func addSystemPartFlags(f *pflag.FlagSet, o *capture.SystemParts) {
	f.StringVar(&o.Image, "image", "", "pinned inference image: name@sha256:… or sha256:<image id> (required)")
	f.StringVar(&o.Model, "model", "", "model: a file or a directory (stored as a tree) (required)")
	f.StringVar(&o.ModelName, "model-name", "", "model name (default: safetensors metadata, else the file or directory name)")
	f.StringVar(&o.ModelVer, "model-version", "", "model version (default: safetensors metadata, else \"unversioned\")")
	f.StringVar(&o.Config, "config", "", "config: a file or a directory (stored as a tree) (required)")
	f.StringVar(&o.ConfigName, "config-name", "", "config name (default: its JSON \"name\", else the file or directory name)")
	f.StringVar(&o.ConfigVer, "config-version", "", "config version (default: its JSON \"version\", else \"unversioned\")")
}

// hardwareClass is --hardware-class, checked, or this host's class.
func hardwareClass(ctx context.Context, flag string) (string, error) {
	if flag == "" {
		return hwclass.Detect(ctx), nil
	}
	if _, err := hwclass.Parse(flag); err != nil {
		return "", usageErrorf("--hardware-class (runtime.hardware_class): %v", err)
	}
	return flag, nil
}

func newSystemCreateCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &systemCreateOptions{}
	cmd := newCommand("create --image REF --model PATH --config PATH [-o FILE]",
		"Write a system file: the composite version (a record's system object with its id)",
		help("system-create"), cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runSystemCreate(ctx, g, s, o) })
	f := cmd.Flags()
	addSystemPartFlags(f, &o.SystemParts)
	f.StringVar(&o.Protocol, "protocol", "jsonl-stdio", "wire protocol: "+strings.Join(record.Protocols, ", "))
	f.StringVar(&o.HardwareClass, "hardware-class", "", "hardware class (default: this host's, see 'reprise env')")
	addDestFlag(cmd, &o.Out, "FILE", "write the system file to FILE instead of stdout")
	return cmd
}

func runSystemCreate(ctx context.Context, g *globalOptions, s *streams, o *systemCreateOptions) error {
	p, err := o.Parts(o.Protocol)
	if err != nil {
		return err
	}
	if p.HardwareClass, err = hardwareClass(ctx, o.HardwareClass); err != nil {
		return err
	}
	st, err := initStore(g)
	if err != nil {
		return err
	}
	p.Stdin = s.In
	f, err := capture.BuildSystem(ctx, st, p)
	if err != nil {
		return err
	}
	b, err := f.Marshal()
	if err != nil {
		return err
	}
	if o.Out == "" {
		_, err = s.Out.Write(b)
		return err
	}
	return os.WriteFile(o.Out, b, 0o644)
}
