package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/evals"
)

func newDataCmd(g *globalOptions, s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Content-addressed datasets (training data for the leakage test)",
	}
	cmd.AddCommand(newDataPackCmd(g, s))
	return cmd
}

type dataPackOptions struct{ Format string }

func newDataPackCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &dataPackOptions{}
	cmd := &cobra.Command{
		Use:   "pack FILE...",
		Short: "Store files as one dataset; prints its digest",
		Long: `Store the files and a dataset manifest {"schema":"reprise/dataset/v1","files":[{name,
digest, size, format}]}; the manifest's digest names the dataset. Formats: jsonl
(.jsonl, .ndjson: one document per line, its scalar values) and text (any other
file: one document per line). Parquet is not supported yet.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runDataPack(c.Context(), g, s, o, args)
		},
	}
	cmd.Flags().StringVar(&o.Format, "format", "", "format of every file: jsonl or text (default: from the extension)")
	return cmd
}

func runDataPack(ctx context.Context, g *globalOptions, s *streams, o *dataPackOptions, files []string) error {
	var df []evals.DatasetFile
	for _, f := range files {
		format := o.Format
		switch ext := strings.ToLower(filepath.Ext(f)); {
		case format != "":
		case ext == ".jsonl" || ext == ".ndjson":
			format = evals.FormatJSONL
		case ext == ".parquet":
			return usageErrorf("%s: Parquet datasets are not supported yet (give JSONL or text)", f)
		default:
			format = evals.FormatText
		}
		if format != evals.FormatJSONL && format != evals.FormatText {
			return usageErrorf("--format %q: want jsonl or text", format)
		}
		fi, err := os.Stat(f)
		if err != nil || !fi.Mode().IsRegular() {
			return usageErrorf("%s: not a regular file", f)
		}
		df = append(df, evals.DatasetFile{Name: filepath.Base(f), Size: fi.Size(), Format: format})
	}
	st, err := initStore(g)
	if err != nil {
		return err
	}
	for i, f := range files {
		d, err := capture.PutFile(ctx, st, s.In, f, "", df[i].Name, "dataset file")
		if err != nil {
			return err
		}
		df[i].Digest = d
	}
	d, err := evals.PackDataset(ctx, st, df)
	if err != nil {
		return err
	}
	fmt.Fprintln(s.Out, d)
	return nil
}
