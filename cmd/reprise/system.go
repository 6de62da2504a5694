package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners/hwclass"
	"github.com/reprise-dev/reprise/system"
)

// systemFileSchema marks a system file: a composite version without a decision.
const systemFileSchema = "reprise/system/v1"

// systemFile is what `system create` writes: the system object of a record
// (with its id) and how the system is served.
type systemFile struct {
	Schema  string        `json:"schema"`
	System  system.System `json:"system"`
	Runtime struct {
		Protocol      string `json:"protocol"`
		HardwareClass string `json:"hardware_class"`
	} `json:"runtime"`
}

// loadTarget reads a system file or a decision record and returns what to
// start. The system id must recompute (exit 4 otherwise).
func loadTarget(path string) (launch.Target, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return launch.Target{}, usageErrorf("system %s: %v", path, err)
	}
	var head struct{ Schema string }
	json.Unmarshal(b, &head)
	if head.Schema == record.Schema {
		rec, err := record.Parse(b)
		if err != nil {
			return launch.Target{}, fmt.Errorf("system %s: %w", path, err)
		}
		if err := rec.System.Check(); err != nil {
			return launch.Target{}, fmt.Errorf("system %s: %w", path, err)
		}
		return launch.FromRecord(rec), nil
	}
	var f systemFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil || f.Schema != systemFileSchema {
		return launch.Target{}, usageErrorf("system %s: not a system file (%s) or a decision record: %v", path, systemFileSchema, err)
	}
	if err := f.System.Check(); err != nil {
		return launch.Target{}, fmt.Errorf("system %s: %w", path, err)
	}
	return launch.Target{System: f.System, Protocol: f.Runtime.Protocol, HardwareClass: f.Runtime.HardwareClass}, nil
}

// systemID reads SYS as a system id (sha256:…) or a system file / record.
func systemID(arg string) (digest.Digest, error) {
	if d, err := digest.Parse(arg); err == nil {
		return d, nil
	}
	t, err := loadTarget(arg)
	return t.System.ID, err
}

func newSystemCmd(g *globalOptions, s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "system",
		Short: "Composite versions without a decision (system files)",
	}
	cmd.AddCommand(newSystemCreateCmd(g, s))
	return cmd
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

func (o *systemPartFlags) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Image, "image", "", "pinned inference image: name@sha256:… or sha256:<image id> (required)")
	f.StringVar(&o.Model, "model", "", "model file (required)")
	f.StringVar(&o.ModelName, "model-name", "", "model name (default: safetensors metadata, else the file name)")
	f.StringVar(&o.ModelVer, "model-version", "", "model version (default: safetensors metadata, else \"unversioned\")")
	f.StringVar(&o.Config, "config", "", "config file (required)")
	f.StringVar(&o.ConfigName, "config-name", "", "config name (default: its JSON \"name\", else the file name)")
	f.StringVar(&o.ConfigVer, "config-version", "", "config version (default: its JSON \"version\", else \"unversioned\")")
}

func newSystemCreateCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &systemCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create --image REF --model FILE --config FILE [-o FILE]",
		Short: "Write a system file: the composite version (a record's system object with its id)",
		Long: `Write a system file: {"schema": "reprise/system/v1", "system": {...}, "runtime":
{"protocol", "hardware_class"}}. The model and config are put into the store; the
system object and its id are those a decision record of this system would hold.
Every command that takes a system (evals run, rescore, history) takes this file
or a decision record.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return runSystemCreate(c.Context(), g, s, o)
		},
	}
	f := cmd.Flags()
	o.systemPartFlags.addFlags(f)
	f.StringVar(&o.Protocol, "protocol", "jsonl-stdio", "wire protocol: "+strings.Join(record.Protocols, ", "))
	f.StringVar(&o.HardwareClass, "hardware-class", "", "hardware class (default: this host's, see 'reprise env')")
	f.StringVarP(&o.Out, "out", "o", "", "write the system file to FILE instead of stdout")
	return cmd
}

func runSystemCreate(ctx context.Context, g *globalOptions, s *streams, o *systemCreateOptions) error {
	for _, req := range []struct{ name, val string }{{"--image", o.Image}, {"--model", o.Model}, {"--config", o.Config}} {
		if req.val == "" {
			return usageErrorf("%s is required", req.name)
		}
	}
	img, err := system.ParseImageRef(o.Image)
	if err != nil {
		return fmt.Errorf("--image: %w", err)
	}
	if !slices.Contains(record.Protocols, o.Protocol) {
		return usageErrorf("--protocol: unknown protocol %q (want one of %s)", o.Protocol, strings.Join(record.Protocols, ", "))
	}
	hw := o.HardwareClass
	if hw == "" {
		hw = hwclass.Detect(ctx)
	}
	st, err := initStore(g)
	if err != nil {
		return err
	}
	// The system object is built exactly as record create builds it (names
	// and versions from the files' metadata); the config stands in as the
	// input, which adds no blob (it is stored anyway).
	rec, err := capture.Build(ctx, st, capture.Parts{
		Input: capture.Source{Path: o.Config}, Image: img,
		Model: capture.Source{Path: o.Model}, Config: capture.Source{Path: o.Config},
		ModelName: o.ModelName, ModelVersion: o.ModelVer, ConfigName: o.ConfigName, ConfigVersion: o.ConfigVer,
		Protocol: o.Protocol, HardwareClass: hw, Timestamp: time.Unix(0, 0).UTC(), Stdin: s.In,
	})
	if err != nil {
		return err
	}
	f := systemFile{Schema: systemFileSchema, System: rec.System}
	f.Runtime.Protocol, f.Runtime.HardwareClass = rec.Runtime.Protocol, rec.Runtime.HardwareClass
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if o.Out == "" {
		_, err = s.Out.Write(b)
		return err
	}
	return os.WriteFile(o.Out, b, 0o644)
}
