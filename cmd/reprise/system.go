package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners/hwclass"
	"github.com/reprise-dev/reprise/system"
)

func newSystemCmd(g *globalOptions, s *streams) *cobra.Command {
	return newGroup("system", "Composite versions without a decision (system files)", "", newSystemCreateCmd(g, s), newSystemDiffCmd(g, s))
}

type systemCreateOptions struct {
	systemPartFlags
	Protocol, HardwareClass, Out string
}

// systemPartFlags name the parts of a composite version: the pinned image,
// the model and config files and what to call them (record create, system
// create).
type systemPartFlags struct {
	Image, Model, Config                       string
	ModelName, ModelVer, ConfigName, ConfigVer string
}

// required is a flag that must be given: its name and value.
type required struct{ name, val string }

// parts checks that the flags in first, then --image, --model and --config,
// are given, parses --image and checks protocol: the parts of a composite
// version.
func (o *systemPartFlags) parts(protocol string, first ...required) (capture.Parts, error) {
	for _, r := range append(first, required{"--image", o.Image}, required{"--model", o.Model}, required{"--config", o.Config}) {
		if r.val == "" {
			return capture.Parts{}, usageErrorf("%s is required", r.name)
		}
	}
	img, err := system.ParseImageRef(o.Image)
	if err != nil {
		return capture.Parts{}, fmt.Errorf("--image: %w", err)
	}
	if !slices.Contains(record.Protocols, protocol) {
		return capture.Parts{}, usageErrorf("--protocol: unknown protocol %q (want one of %s)", protocol, strings.Join(record.Protocols, ", "))
	}
	return capture.Parts{Image: img, Model: capture.Source{Path: o.Model}, Config: capture.Source{Path: o.Config},
		ModelName: o.ModelName, ModelVersion: o.ModelVer, ConfigName: o.ConfigName, ConfigVersion: o.ConfigVer, Protocol: protocol}, nil
}

func (o *systemPartFlags) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Image, "image", "", "pinned inference image: name@sha256:… or sha256:<image id> (required)")
	f.StringVar(&o.Model, "model", "", "model: a file or a directory (stored as a tree) (required)")
	f.StringVar(&o.ModelName, "model-name", "", "model name (default: safetensors metadata, else the file or directory name)")
	f.StringVar(&o.ModelVer, "model-version", "", "model version (default: safetensors metadata, else \"unversioned\")")
	f.StringVar(&o.Config, "config", "", "config: a file or a directory (stored as a tree) (required)")
	f.StringVar(&o.ConfigName, "config-name", "", "config name (default: its JSON \"name\", else the file or directory name)")
	f.StringVar(&o.ConfigVer, "config-version", "", "config version (default: its JSON \"version\", else \"unversioned\")")
}

func newSystemCreateCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &systemCreateOptions{}
	cmd := newCommand("create --image REF --model PATH --config PATH [-o FILE]",
		"Write a system file: the composite version (a record's system object with its id)",
		help("system-create"), cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runSystemCreate(ctx, g, s, o) })
	f := cmd.Flags()
	o.systemPartFlags.addFlags(f)
	f.StringVar(&o.Protocol, "protocol", "jsonl-stdio", "wire protocol: "+strings.Join(record.Protocols, ", "))
	f.StringVar(&o.HardwareClass, "hardware-class", "", "hardware class (default: this host's, see 'reprise env')")
	addDestFlag(cmd, &o.Out, "FILE", "write the system file to FILE instead of stdout")
	return cmd
}

func runSystemCreate(ctx context.Context, g *globalOptions, s *streams, o *systemCreateOptions) error {
	p, err := o.parts(o.Protocol)
	if err != nil {
		return err
	}
	if p.HardwareClass = o.HardwareClass; p.HardwareClass == "" {
		p.HardwareClass = hwclass.Detect(ctx)
	} else if _, err := hwclass.Parse(p.HardwareClass); err != nil {
		return usageErrorf("--hardware-class (runtime.hardware_class): %v", err)
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
