package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/record"
)

func newDataCmd(g *globalOptions, s *streams) *cobra.Command {
	return newGroup("data", "Content-addressed datasets (training data for the leakage test)", "", newDataPackCmd(g, s))
}

type dataPackOptions struct {
	Format  string
	Columns []string
	Limits  record.ParquetLimits
}

func newDataPackCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &dataPackOptions{}
	cmd := newCommand("pack FILE...", "Store files as one dataset; prints its digest",
		help("data-pack"), cobra.MinimumNArgs(1),
		func(ctx context.Context, args []string) error { return runDataPack(ctx, g, s, o, args) })
	cmd.Flags().StringVar(&o.Format, "format", "", "format of every file: jsonl, text or parquet (default: from the extension)")
	cmd.Flags().StringArrayVar(&o.Columns, "column", nil, "text column of the Parquet files (repeatable; default: every BYTE_ARRAY column)")
	addMaxPageSizeFlag(cmd, &o.Limits)
	return cmd
}

func runDataPack(ctx context.Context, g *globalOptions, s *streams, o *dataPackOptions, files []string) error {
	df, err := evals.DescribeDatasetFiles(ctx, files, o.Format, o.Columns, o.Limits)
	if err != nil {
		return err
	}
	st, err := initStore(g)
	if err != nil {
		return err
	}
	d, err := evals.PackDatasetFiles(ctx, st, df, func(i int) (digest.Digest, error) {
		return capture.PutFile(ctx, st, s.In, files[i], "", df[i].Name, "dataset file")
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(s.Out, d)
	return nil
}
