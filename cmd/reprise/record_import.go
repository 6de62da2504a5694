package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/ingest"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
)

// selectOptions are the row-selection flags shared by `record import` and
// `nightly`: --where, --since, --until (ingest.Selection).
type selectOptions struct{ ingest.Selection }

func (o *selectOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Where, "where", "", `CEL expression selecting records, e.g. 'model.version == "2.4.1" && output.score < 0.7'`)
	f.StringVar(&o.Since, "since", "", "keep decisions at or after this time: a duration before now (24h) or RFC 3339")
	f.StringVar(&o.Until, "until", "", "keep decisions before this time: a duration before now or RFC 3339")
	f.Uint64Var(&o.WhereCost, strings.TrimPrefix(ingest.CostFlag, "--"), ingest.DefaultWhereCost, "cost limit of --where per record, in CEL cost units (an expression estimated over it is refused)")
}

// recordImportOptions are the flags of `record import`.
type recordImportOptions struct {
	Log, Versions string
	Columns       string
	Column        []string
	Strict        bool
	Out, OutDir   string
	selectOptions
	Output outputFormat
	Limits record.ParquetLimits
	now    func() time.Time
}

func newRecordImportCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &recordImportOptions{now: time.Now}
	cmd := newCommand("import --log FILE --versions MAP (-o OUT.parquet | --out-dir DIR) [--strict] [--where EXPR] [--since 24h] [--until T]",
		"Turn a production decision log into decision records through a version map",
		help("record-import"), cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runRecordImport(ctx, g, s, o) })
	f := cmd.Flags()
	f.StringVar(&o.Log, "log", "", "decision log: JSON Lines or Parquet (required)")
	f.StringVar(&o.Versions, "versions", "", "version map file: names and tags to digests (required)")
	f.StringVar(&o.Columns, "columns", "", `column map file: a JSON object of fields to the log's columns, e.g. {"output.decision": "label"} (default: output.decision nested or output_decision flat, and so on)`)
	f.StringArrayVar(&o.Column, "column", nil, "FIELD=COLUMN: read FIELD from COLUMN (repeatable; over --columns)")
	f.BoolVar(&o.Strict, "strict", false, "any unresolved row is an error; nothing is written")
	addDestFlag(cmd, &o.Out, "FILE", "write the records as one Parquet decision log")
	f.StringVar(&o.OutDir, "out-dir", "", "write one record JSON file per record into DIR")
	o.selectOptions.addFlags(cmd)
	addMaxPageSizeFlag(cmd, &o.Limits)
	addFormatFlag(cmd, &o.Output, outputText)
	return cmd
}

func runRecordImport(ctx context.Context, g *globalOptions, s *streams, o *recordImportOptions) error {
	if o.Log == "" || o.Versions == "" {
		return usageErrorf("--log and --versions are required")
	}
	if (o.Out == "") == (o.OutDir == "") {
		return usageErrorf("give exactly one of -o OUT.parquet and --out-dir DIR")
	}
	filter, err := o.Filter(o.now())
	if err != nil {
		return err
	}
	im, err := ingest.NewImporter(o.Versions, o.Columns, o.Column, o.Limits)
	if err != nil {
		return err
	}
	if im.Inputs, err = store.Open(g.storeDir()); err != nil {
		return err
	}
	res, err := im.Write(ctx, o.Log, ingest.WriteOptions{Filter: filter, Parquet: o.Out, Dir: o.OutDir, Strict: o.Strict})
	if err != nil && !errors.Is(err, ingest.ErrUnresolved) {
		return err // a destination that cannot be made is ingest.ErrDest, named by its flag
	}
	if perr := writeResult(s.Out, o.Output, res, res.WriteText); perr != nil {
		return perr
	}
	if err != nil {
		return usageErrorf("--strict: %d unresolved rows; nothing was written", res.UnresolvedRows)
	}
	return res.Err()
}
