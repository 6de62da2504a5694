package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/render"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/verdict"
)

// ReportSchema names the report.json format.
const ReportSchema = "reprise/report/v1"

// Report is report.json: everything needed to explain a replay's verdict.
type Report struct {
	Schema string        `json:"schema"`
	Record RecordSummary `json:"record"`
	Runner *runners.Info `json:"runner"`
	// Environment lists every effective sandbox setting with its source,
	// and whether the environment was pinned.
	Environment Environment  `json:"environment"`
	Hardware    Hardware     `json:"hardware"`
	Replay      ReplayParams `json:"replay"`
	// Exact is the pinned-seed run; nil when the record has no seed.
	Exact *ExactResult `json:"exact"`
	verdict.Evaluation
	Notes []string `json:"notes"`
	// ErrorAnswers counts the runs the system answered with {"error": …};
	// ErrorAnswerRate is their share of all runs. They are not outputs.
	ErrorAnswers    int     `json:"error_answers"`
	ErrorAnswerRate float64 `json:"error_answer_rate"`
	Error           string  `json:"error,omitempty"`
	Timings         Timings `json:"timings"`
	// TypicalText is the most typical replayed text (text outputs only).
	TypicalText *string `json:"typical_text,omitempty"`
	// Eval is the replay of the record's pinned eval suite; nil when it
	// was not run (see EvalOptions).
	Eval *EvalSection `json:"eval,omitempty"`
}

// RecordSummary identifies the replayed record.
type RecordSummary struct {
	RequestID    string   `json:"request_id"`
	Timestamp    string   `json:"timestamp"`
	SystemID     string   `json:"system_id"`
	Image        string   `json:"image"`
	Model        string   `json:"model"`
	Config       string   `json:"config"`
	InputDigest  string   `json:"input_digest"`
	OutputDigest string   `json:"output_digest"`
	StoredLabel  *string  `json:"stored_label"`
	StoredScore  *float64 `json:"stored_score"`
	StoredText   *string  `json:"stored_text"`
}

// Hardware compares the record's hardware class with this host's.
type Hardware struct {
	Record   string `json:"record"`
	Host     string `json:"host"`
	Match    bool   `json:"match"`
	Override bool   `json:"override"`
}

// ReplayParams are the parameters the replay ran with.
type ReplayParams struct {
	N            int     `json:"n"`
	ReplaySeed   uint64  `json:"replay_seed"`
	MinFrequency float64 `json:"min_frequency"`
	Alpha        float64 `json:"alpha"`
	Conf         float64 `json:"conf"`
	Margin       float64 `json:"margin"`
	// Sequential: the replay stopped as soon as the verdict was settled, at
	// most MaxRuns runs; Stopped says after how many runs and why (N is the
	// number of fresh-seed runs made).
	Sequential bool   `json:"sequential"`
	MaxRuns    int    `json:"max_runs,omitempty"`
	Batch      int    `json:"batch,omitempty"`
	Stopped    string `json:"stopped,omitempty"`
}

// ExactResult is the pinned-seed run compared with the stored output.
type ExactResult struct {
	Seed         int64    `json:"seed"`
	ExactMatch   bool     `json:"exact_match"`
	Basis        string   `json:"basis"`
	OutputDigest string   `json:"output_digest"`
	Label        *string  `json:"label"`
	Score        *float64 `json:"score"`
	Text         *string  `json:"text"`
	// Divergence is where the pinned-seed text first differs from the
	// stored text; nil when they are equal or there is no text.
	Divergence *verdict.Divergence `json:"divergence,omitempty"`
}

// Timings are wall times in milliseconds.
type Timings struct {
	Started        time.Time `json:"started"`
	Finished       time.Time `json:"finished"`
	TotalMS        float64   `json:"total_ms"`
	StartSessionMS float64   `json:"start_session_ms"`
	RunsMS         float64   `json:"runs_ms"`
	MeanRunMS      float64   `json:"mean_run_ms"`
}

func newReport(rec *record.Record, opts Options, replaySeed uint64, started time.Time) *Report {
	return &Report{
		Schema: ReportSchema,
		Record: RecordSummary{
			RequestID: rec.RequestID, Timestamp: rec.Timestamp.Format(time.RFC3339Nano),
			SystemID: rec.System.ID.String(), Image: rec.System.Image.String(),
			Model: rec.System.Model.String(), Config: rec.System.Config.String(),
			InputDigest: rec.Input.Digest.String(), OutputDigest: rec.Output.Digest.String(),
			StoredLabel: rec.Output.Label, StoredScore: rec.Output.Score, StoredText: rec.Output.Text,
		},
		Hardware: Hardware{Record: rec.Runtime.HardwareClass, Host: opts.Launch.HostClass, Match: rec.Runtime.HardwareClass == opts.Launch.HostClass},
		Replay: ReplayParams{N: opts.N, ReplaySeed: replaySeed, MinFrequency: opts.Rules.MinFrequency,
			Alpha: opts.Rules.Alpha, Conf: opts.Rules.Conf, Margin: opts.Rules.Margin, Sequential: opts.Sequential},
		Evaluation: verdict.Evaluation{Tests: []verdict.TestResult{}, Reasons: []string{}},
		Notes:      append([]string{}, opts.Notes...),
		Timings:    Timings{Started: started},
	}
}

func (r *Report) finish(now time.Time) {
	r.Timings.Finished = now
	r.Timings.TotalMS = ms(now.Sub(r.Timings.Started))
}

// WriteFiles writes report.json, report.md and runs.parquet (zstd) into dir,
// each atomically (temp file, fsync, rename).
func (res *Result) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res.Report, "", "  ")
	if err != nil {
		return err
	}
	if err := journal.WriteAtomic(filepath.Join(dir, "report.json"), append(b, '\n')); err != nil {
		return err
	}
	if err := journal.WriteAtomic(filepath.Join(dir, "report.md"), []byte(res.Report.Markdown())); err != nil {
		return err
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[RunRow](&buf, parquet.Compression(&parquet.Zstd))
	if len(res.Runs) > 0 {
		if _, err := w.Write(res.Runs); err != nil {
			return fmt.Errorf("runs.parquet: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("runs.parquet: %w", err)
	}
	return journal.WriteAtomic(filepath.Join(dir, "runs.parquet"), buf.Bytes())
}

// ReadRuns reads a runs.parquet file.
func ReadRuns(path string) ([]RunRow, error) {
	return parquet.ReadFile[RunRow](path)
}

// Markdown renders the report for people. Every value that comes from the
// record, the system or its errors is escaped (render.Markdown): it cannot forge
// headings, HTML, links or table columns, nor carry control characters.
func (r *Report) Markdown() string {
	var b strings.Builder
	e, code := render.Markdown, render.MarkdownCode
	fmt.Fprintf(&b, "# Replay of %s: %s\n\n", render.MarkdownPlain(r.Record.RequestID), e(string(r.Verdict)))
	if r.Basis != "" {
		fmt.Fprintf(&b, "Reproduced **%s**.\n\n", e(r.Basis))
	}
	if r.Error != "" {
		fmt.Fprintf(&b, "**Error:** %s\n\n", e(r.Error))
	}
	if len(r.Reasons) > 0 {
		b.WriteString("## Why\n\n")
		for _, s := range r.Reasons {
			fmt.Fprintf(&b, "- %s\n", e(s))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Decision record\n\n")
	t := render.NewTable(&b, "field", "value")
	t.Row("request id", code(r.Record.RequestID))
	t.Row("decided at", e(r.Record.Timestamp))
	t.Row("system id", code(r.Record.SystemID))
	t.Row("image", code(r.Record.Image))
	t.Row("model", e(r.Record.Model))
	t.Row("config", e(r.Record.Config))
	t.Row("input", code(r.Record.InputDigest))
	t.Row("stored output", fmt.Sprintf("label %s, score %s, text %s",
		e(render.Opt(r.Record.StoredLabel)), e(render.Opt(r.Record.StoredScore)), e(render.Opt(r.Record.StoredText))))
	t.Row("stored output digest", code(r.Record.OutputDigest))
	b.WriteString("\n")
	b.WriteString("## Environment\n\n")
	if r.Runner != nil {
		fmt.Fprintf(&b, "- runner: %s (ran the pinned image: %v)\n", e(r.Runner.Runner), r.Runner.Pinned)
		if r.Runner.ImageID != "" {
			fmt.Fprintf(&b, "- image id: %s, repo digest: %s, pulled: %v\n", code(r.Runner.ImageID), code(render.DashIfEmpty(r.Runner.RepoDigest)), r.Runner.Pulled)
		}
		if r.Runner.Engine != "" {
			fmt.Fprintf(&b, "- engine: %s\n", e(r.Runner.Engine))
		}
		if r.Runner.Entrypoint != "" {
			fmt.Fprintf(&b, "- entrypoint: %s\n", code(r.Runner.Entrypoint))
		}
		if r.Runner.URL != "" {
			fmt.Fprintf(&b, "- server: %s\n", code(r.Runner.URL))
		}
		if r.Runner.Server != "" {
			fmt.Fprintf(&b, "- the server says: %s\n", code(r.Runner.Server))
		}
		if len(r.Runner.Fingerprints) > 0 {
			fmt.Fprintf(&b, "- system fingerprints: %s\n", code(strings.Join(r.Runner.Fingerprints, ", ")))
		}
		if r.Runner.Concurrency > 0 {
			fmt.Fprintf(&b, "- concurrency: %d HTTP requests at once\n", r.Runner.Concurrency)
		}
		if r.Runner.Window > 0 {
			fmt.Fprintf(&b, "- stdio window: %d (pipelined: %v; latencies are service times, queueing apart)\n", r.Runner.Window, r.Runner.Pipelined)
		}
	}
	fmt.Fprintf(&b, "- hardware class: record %s, host %s (match: %v, override: %v)\n", e(r.Hardware.Record), e(r.Hardware.Host), r.Hardware.Match, r.Hardware.Override)
	fmt.Fprintf(&b, "- environment pinned: %v\n", r.Environment.Pinned)
	for _, s := range r.Environment.Reasons {
		fmt.Fprintf(&b, "  - %s\n", e(s))
	}
	b.WriteString("\n")
	if len(r.Environment.Settings) > 0 {
		t := render.NewTable(&b, "sandbox setting", "value", "from")
		for _, s := range r.Environment.Settings {
			t.Row(e(s.Name), e(s.Value), e(s.Source))
		}
		b.WriteString("\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "> **Note:** %s\n\n", e(n))
	}
	b.WriteString("## Runs\n\n")
	fmt.Fprintf(&b, "N = %d fresh seeds from replay seed %d; min frequency %g, alpha %g (the false-alarm rate, all checks together), confidence %g.\n\n",
		r.Replay.N, r.Replay.ReplaySeed, r.Replay.MinFrequency, r.Replay.Alpha, r.Replay.Conf)
	if r.Replay.Sequential {
		fmt.Fprintf(&b, "Sequential: batches of %d, at most %d runs; %s.\n\n", r.Replay.Batch, r.Replay.MaxRuns, e(render.DashIfEmpty(r.Replay.Stopped)))
	}
	if r.ErrorAnswers > 0 {
		fmt.Fprintf(&b, "Error answers: **%d** (rate %.3f); they are outcomes, not outputs, and the tests leave them out.\n\n", r.ErrorAnswers, r.ErrorAnswerRate)
	}
	if r.Exact != nil {
		fmt.Fprintf(&b, "Pinned seed %d: exact match **%v** (compared by %s); it answered label %s, score %s.\n\n",
			r.Exact.Seed, r.Exact.ExactMatch, e(r.Exact.Basis), e(render.Opt(r.Exact.Label)), e(render.Opt(r.Exact.Score)))
	}
	if st := r.Record.StoredText; st != nil {
		b.WriteString("| text | |\n|---|---|\n")
		fmt.Fprintf(&b, "| stored | %s |\n", e(*st))
		if r.Exact != nil && r.Exact.Text != nil {
			fmt.Fprintf(&b, "| pinned-seed replay | %s |\n", e(*r.Exact.Text))
		}
		if r.TypicalText != nil {
			fmt.Fprintf(&b, "| most typical replay | %s |\n", e(*r.TypicalText))
		}
		b.WriteString("\n")
		if d := r.Exact; d != nil && d.Divergence != nil {
			fmt.Fprintf(&b, "The pinned-seed replay first diverges at character %d (token %d):\n\n- stored: %s\n- replay: %s\n\n",
				d.Divergence.Char, d.Divergence.Token, code(d.Divergence.Stored), code(d.Divergence.Replayed))
		}
	}
	if len(r.LabelCounts) > 0 {
		t := render.NewTable(&b, "label", "runs:", "share:")
		labels := make([]string, 0, len(r.LabelCounts))
		total := 0
		for l, c := range r.LabelCounts {
			labels = append(labels, l)
			total += c
		}
		sort.Slice(labels, func(i, j int) bool {
			return r.LabelCounts[labels[i]] > r.LabelCounts[labels[j]] || r.LabelCounts[labels[i]] == r.LabelCounts[labels[j]] && labels[i] < labels[j]
		})
		for _, l := range labels {
			t.Row(e(l), strconv.Itoa(r.LabelCounts[l]), fmt.Sprintf("%.3f", float64(r.LabelCounts[l])/float64(total)))
		}
		b.WriteString("\n")
	}
	if len(r.Tests) > 0 {
		b.WriteString("## Tests\n\n")
		tab := render.NewTable(&b, "test", "statistic:", "p-value:", "interval", "method")
		for _, t := range r.Tests {
			iv := "—"
			if t.Interval != nil {
				iv = fmt.Sprintf("[%.4f, %.4f] %s %g", t.Interval.Lower, t.Interval.Upper, t.Interval.Method, t.Interval.Conf)
				if t.Wilson != nil {
					iv += fmt.Sprintf("; [%.4f, %.4f] Wilson", t.Wilson.Lower, t.Wilson.Upper)
				}
			}
			stat, p := "—", "—"
			if t.Statistic != nil {
				stat = fmt.Sprintf("%.4g", *t.Statistic)
			}
			if t.PValue != nil {
				p = fmt.Sprintf("%.4g", *t.PValue)
				if t.Level != nil {
					p += fmt.Sprintf(" (level %.4g)", *t.Level)
				}
			}
			if t.Skipped != "" {
				p = "skipped: " + t.Skipped
			}
			tab.Row(e(t.Name), e(stat), e(p), e(iv), e(t.Method))
		}
		b.WriteString("\n")
		for _, t := range r.Tests {
			if t.Underpowered != "" {
				need := ""
				if t.RunsNeeded > 0 {
					need = fmt.Sprintf(" (about %d runs would give it the power)", t.RunsNeeded)
				}
				fmt.Fprintf(&b, "- **lacked power:** %s: %s%s\n", e(t.Name), e(t.Underpowered), need)
			}
		}
		if len(r.Underpowered) > 0 {
			b.WriteString("\n")
		}
	}
	if ev := r.Eval; ev != nil {
		writeEvalSection(&b, ev)
	}
	fmt.Fprintf(&b, "## Timings\n\nsession start %.0f ms, runs %.0f ms (%.2f ms per run), total %.0f ms.\n",
		r.Timings.StartSessionMS, r.Timings.RunsMS, r.Timings.MeanRunMS, r.Timings.TotalMS)
	return b.String()
}
