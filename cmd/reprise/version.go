package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/buildinfo"
)

// versionOptions are the flags of `reprise version`.
type versionOptions struct {
	Format outputFormat
}

// newVersionCmd is `reprise version`: the module version, VCS revision and
// Go toolchain from the binary's build info.
func newVersionCmd(s *streams) *cobra.Command {
	o := &versionOptions{}
	cmd := newCommand("version", "Print reprise's version, VCS revision and Go toolchain",
		help("version"),
		cobra.NoArgs, func(ctx context.Context, args []string) error { return runVersion(ctx, s, o) })
	addFormatFlag(cmd, &o.Format, outputText)
	return cmd
}

func runVersion(_ context.Context, s *streams, o *versionOptions) error {
	in := buildinfo.Read()
	return writeResult(s.Out, o.Format, in, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "reprise %s\n", in.String())
		if err == nil {
			err = writeFields(w, in)
		}
		return err
	})
}

// addVersion gives root `reprise version` and `--version` (which prints
// "reprise version V").
func addVersion(root *cobra.Command, s *streams) {
	root.Version = buildinfo.Version()
	root.SetVersionTemplate("reprise version {{.Version}}\n")
	root.Flags().Bool("version", false, "print the version (reprise version prints the build info)")
	root.AddCommand(newVersionCmd(s))
}
