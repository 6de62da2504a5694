package nightly

import (
	"context"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/ingest"
	"github.com/reprise-dev/reprise/record"
)

// Drawn is a sample drawn from a decision log by DrawSample, for the
// commands that reuse a night's selection and sampler (compare).
type Drawn struct {
	// LogDigest and LogSize identify the log's content.
	LogDigest digest.Digest
	LogSize   int64
	// Records are the sample, sorted by system key, then request id (a
	// request id drawn twice is kept once and counted in RowErrors).
	Records []*record.Record
	// Scanned, Selected, RowErrors and Listed are as in Config; Empty says
	// why nothing was drawn ("" when something was).
	Scanned, Selected, RowErrors int64
	Listed                       []record.RowError
	Empty                        string
}

// DrawSample reads the Parquet decision log at path as a night does: it
// hashes it, selects its rows with f (time bounds and --where) and draws
// the seeded bottom-k sample of k rows (0: every selected row), unstratified.
// Its errors wrap ErrLog, or are ctx's.
func DrawSample(ctx context.Context, path string, limits record.ParquetLimits, f ingest.Filter, k int, seed uint64) (*Drawn, error) {
	d, size, err := hashLog(ctx, path)
	if err != nil {
		return nil, err
	}
	cfg := &Config{Selection: Selection{LogSize: size}}
	recs, err := draw(Options{Log: path, Limits: limits, Filter: f, Sample: k, Seed: seed}, cfg)
	if err != nil {
		return nil, err
	}
	return &Drawn{LogDigest: d, LogSize: size, Records: recs, Scanned: cfg.Scanned, Selected: cfg.Selected,
		RowErrors: cfg.RowErrors, Listed: cfg.Listed, Empty: cfg.Empty}, nil
}

// SVG renders p as w × h points of inline SVG as the night's report.html
// draws its plots (err, when not nil, is shown instead).
func SVG(p *plot.Plot, w, h vg.Length, err error) string { return svgOf(p, w, h, err) }

// NewPlot is a plot with the night's report style: title, axis labels,
// plain tick labels.
func NewPlot(title, x, y string) *plot.Plot { return newPlot(title, x, y) }
