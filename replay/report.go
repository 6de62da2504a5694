package replay

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/reprise-dev/reprise/buildinfo"
	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/render"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/hwclass"
	"github.com/reprise-dev/reprise/system"
	"github.com/reprise-dev/reprise/verdict"
)

// ReportSchema names the report.json format.
const ReportSchema = "reprise/report/v1"

// Report is report.json: everything needed to explain a replay's verdict.
type Report struct {
	Schema string `json:"schema"`
	// RepriseVersion is the reprise that replayed (buildinfo.Version()).
	RepriseVersion string        `json:"reprise_version"`
	Record         RecordSummary `json:"record"`
	Runner         *runners.Info `json:"runner"`
	// Environment lists every effective sandbox setting with its source,
	// and whether the environment was pinned.
	Environment Environment  `json:"environment"`
	Hardware    Hardware     `json:"hardware"`
	Replay      ReplayParams `json:"replay"`
	// Exact is the pinned-seed run; nil when the record has no seed.
	Exact *ExactResult `json:"exact"`
	// Server compares what the server said about itself at capture and at
	// replay (model name, served model digest, system_fingerprint), with
	// the seed bits and concurrency; nil when there is nothing to say.
	Server *ServerSection `json:"server,omitempty"`
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
	RequestID    string `json:"request_id"`
	Timestamp    string `json:"timestamp"`
	SystemID     string `json:"system_id"`
	Image        string `json:"image"`
	Model        string `json:"model"`
	Config       string `json:"config"`
	InputDigest  string `json:"input_digest"`
	OutputDigest string `json:"output_digest"`
	// SeedBits is the record's runtime.seed_bits (0: all 64 bits);
	// Server what the server said about itself at capture
	// (runtime.server), nil when the record has none.
	SeedBits int            `json:"seed_bits,omitempty"`
	Server   *record.Server `json:"server,omitempty"`
	// Columns are the stored output: stored_label, stored_score and
	// stored_text.
	output.Columns
	// Components are the record's pinned components, name → digest.
	Components map[string]string `json:"components,omitempty"`
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
	N            int           `json:"n"`
	ReplaySeed   system.Seed64 `json:"replay_seed"`
	MinFrequency float64       `json:"min_frequency"`
	Alpha        float64       `json:"alpha"`
	Conf         float64       `json:"conf"`
	Margin       float64       `json:"margin"`
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
	// SeedProbe is the pinned seed's further runs after a mismatch; nil
	// when the pinned seed matched (or answered an error).
	SeedProbe *SeedProbeResult `json:"seed_probe,omitempty"`
	// SeedIgnored: the seed probe's runs of the pinned seed differed,
	// so the server does not honour seed (the mismatch says nothing).
	SeedIgnored bool `json:"seed_ignored,omitempty"`
}

// SeedProbeResult is the seed-determinism probe: the pinned seed run
// verdict.PinnedRuns − 1 more times after a mismatch (verdict.SeedProbe
// votes with it).
type SeedProbeResult struct {
	// Run is the first probe run's index in runs.parquet (kind "pinned"),
	// LastRun the last one's (the probe stops at the first answer that
	// differs), OutputDigest the last one's response digest.
	Run          int    `json:"run"`
	LastRun      int    `json:"last_run"`
	OutputDigest string `json:"output_digest"`
	// Identical: every pinned-seed run gave bit-identical canonical bytes
	// (the system is deterministic given the seed: DIVERGED, exact).
	Identical bool `json:"identical"`
	// Finding says what the probe showed.
	Finding string `json:"finding"`
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
		Schema: ReportSchema, RepriseVersion: buildinfo.Version(),
		Record: RecordSummary{
			RequestID: rec.RequestID, Timestamp: rec.Timestamp.Format(time.RFC3339Nano),
			SystemID: rec.System.ID.String(), Image: rec.System.Image.String(),
			Model: rec.System.Model.String(), Config: rec.System.Config.String(),
			InputDigest: rec.Input.Digest.String(), OutputDigest: rec.Output.Digest.String(),
			Columns: output.ColumnsOf(rec.Output.Output), Components: componentDigests(rec.System),
			SeedBits: rec.Runtime.SeedBits, Server: rec.Runtime.Server,
		},
		Hardware: Hardware{Record: rec.Runtime.HardwareClass, Host: opts.Launch.HostClass, Match: hwclass.Match(rec.Runtime.HardwareClass, opts.Launch.HostClass) == nil},
		Replay: ReplayParams{N: opts.N, ReplaySeed: system.Seed64(replaySeed), MinFrequency: opts.Rules.MinFrequency,
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
	rep, err := journal.JSON(res.Report)
	if err != nil {
		return err
	}
	runs, err := record.EncodeParquet(res.Runs)
	if err != nil {
		return fmt.Errorf("runs.parquet: %w", err)
	}
	return journal.WriteFiles(dir, journal.File{Name: "report.json", Data: rep}, journal.File{Name: "report.md", Data: []byte(res.Report.Markdown())},
		journal.File{Name: "runs.parquet", Data: runs})
}

// ReadRuns reads a runs.parquet file.
func ReadRuns(path string) ([]RunRow, error) {
	return parquet.ReadFile[RunRow](path)
}

// Markdown renders the report for people. Every value that comes from the
// record, the system or its errors is escaped (render.Markdown): it cannot forge
// headings, HTML, links or table columns, nor carry control characters.
// The sections are written in order by the write* methods below.
func (r *Report) Markdown() string {
	var b strings.Builder
	r.writeHeading(&b)
	r.writeDecisionRecord(&b)
	r.writeEnvironment(&b)
	r.writeRuns(&b)
	r.writeTests(&b)
	if ev := r.Eval; ev != nil {
		writeEvalSection(&b, ev)
	}
	r.writeTimings(&b)
	return b.String()
}

// mdFields is fields as "label x, score y, text z": each value escaped, an
// absent one a dash.
func mdFields(fields []output.Field) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		v := render.Dash
		if f.Set {
			v = f.Value
		}
		parts[i] = f.Name + " " + render.Markdown(v)
	}
	return strings.Join(parts, ", ")
}

// writeHeading writes the title with the verdict, the basis, the error and
// the reasons ("Why").
func (r *Report) writeHeading(b *strings.Builder) {
	e := render.Markdown
	fmt.Fprintf(b, "# Replay of %s: %s\n\n", render.MarkdownPlain(r.Record.RequestID), e(string(r.Verdict)))
	switch {
	case r.Basis != "" && r.Verdict == verdict.Diverged:
		fmt.Fprintf(b, "Diverged **%s**: the pinned seed's mismatch is certain (the system is deterministic given the seed).\n\n", e(r.Basis))
	case r.Basis != "":
		fmt.Fprintf(b, "Reproduced **%s**.\n\n", e(r.Basis))
	}
	if r.Error != "" {
		fmt.Fprintf(b, "**Error:** %s\n\n", e(r.Error))
	}
	if len(r.Reasons) > 0 {
		b.WriteString("## Why\n\n")
		for _, s := range r.Reasons {
			fmt.Fprintf(b, "- %s\n", e(s))
		}
		b.WriteString("\n")
	}
}

// writeDecisionRecord writes the table of the replayed record's fields.
func (r *Report) writeDecisionRecord(b *strings.Builder) {
	e, code := render.Markdown, render.MarkdownCode
	b.WriteString("## Decision record\n\n")
	t := render.NewTable(b, "field", "value")
	t.Row("request id", code(r.Record.RequestID))
	t.Row("decided at", e(r.Record.Timestamp))
	t.Row("system id", code(r.Record.SystemID))
	t.Row("image", code(r.Record.Image))
	t.Row("model", e(r.Record.Model))
	t.Row("config", e(r.Record.Config))
	r.Record.componentRows(t)
	t.Row("input", code(r.Record.InputDigest))
	t.Row("stored output", mdFields(r.Record.Output().Fields()))
	t.Row("stored output digest", code(r.Record.OutputDigest))
	b.WriteString("\n")
}

// writeEnvironment writes the runner, the hardware, whether the
// environment was pinned, the sandbox settings and the notes.
func (r *Report) writeEnvironment(b *strings.Builder) {
	e := render.Markdown
	b.WriteString("## Environment\n\n")
	if r.Runner != nil {
		writeRunner(b, r.Runner)
	}
	fmt.Fprintf(b, "- hardware class: record %s, host %s (match: %v, override: %v)\n", e(r.Hardware.Record), e(r.Hardware.Host), r.Hardware.Match, r.Hardware.Override)
	fmt.Fprintf(b, "- environment pinned: %v\n", r.Environment.Pinned)
	for _, s := range r.Environment.Reasons {
		fmt.Fprintf(b, "  - %s\n", e(s))
	}
	b.WriteString("\n")
	if len(r.Environment.Settings) > 0 {
		t := render.NewTable(b, "sandbox setting", "value", "from")
		for _, s := range r.Environment.Settings {
			t.Row(e(s.Name), e(s.Value), e(s.Source))
		}
		b.WriteString("\n")
	}
	r.writeServer(b)
	for _, n := range r.Notes {
		fmt.Fprintf(b, "> **Note:** %s\n\n", e(n))
	}
}

// writeRunner writes the list items of what the runner reported; an empty
// or zero value is left out.
func writeRunner(b *strings.Builder, in *runners.Info) {
	e, code := render.Markdown, render.MarkdownCode
	fmt.Fprintf(b, "- runner: %s (ran the pinned image: %v)\n", e(in.Runner), in.Pinned)
	if in.ImageID != "" {
		fmt.Fprintf(b, "- image id: %s, repo digest: %s, pulled: %v\n", code(in.ImageID), code(render.DashIfEmpty(in.RepoDigest)), in.Pulled)
	}
	if in.Engine != "" {
		fmt.Fprintf(b, "- engine: %s\n", e(in.Engine))
	}
	if in.Entrypoint != "" {
		fmt.Fprintf(b, "- entrypoint: %s\n", code(in.Entrypoint))
	}
	if in.URL != "" {
		fmt.Fprintf(b, "- server: %s\n", code(in.URL))
	}
	if in.Server != "" {
		fmt.Fprintf(b, "- the server says: %s\n", code(in.Server))
	}
	if len(in.Fingerprints) > 0 {
		fmt.Fprintf(b, "- system fingerprints: %s\n", code(strings.Join(in.Fingerprints, ", ")))
	}
	if in.Concurrency > 0 {
		fmt.Fprintf(b, "- concurrency: %d HTTP requests at once\n", in.Concurrency)
	}
	if in.Window > 0 {
		fmt.Fprintf(b, "- stdio window: %d (pipelined: %v; latencies are service times, queueing apart)\n", in.Window, in.Pipelined)
	}
}

// writeRuns writes the replay's parameters, the error answers, the
// pinned-seed run, the texts and the label counts.
func (r *Report) writeRuns(b *strings.Builder) {
	e := render.Markdown
	b.WriteString("## Runs\n\n")
	fmt.Fprintf(b, "N = %d fresh seeds from replay seed %d; min frequency %g, alpha %g (the false-alarm rate, all checks together), confidence %g.\n\n",
		r.Replay.N, r.Replay.ReplaySeed, r.Replay.MinFrequency, r.Replay.Alpha, r.Replay.Conf)
	if r.Replay.Sequential {
		fmt.Fprintf(b, "Sequential: batches of %d, at most %d runs; %s.\n\n", r.Replay.Batch, r.Replay.MaxRuns, e(render.DashIfEmpty(r.Replay.Stopped)))
	}
	if r.ErrorAnswers > 0 {
		fmt.Fprintf(b, "Error answers: **%d** (rate %.3f); they are outcomes, not outputs, and the tests leave them out.\n\n", r.ErrorAnswers, r.ErrorAnswerRate)
	}
	if x := r.Exact; x != nil {
		answered := output.Output{Label: x.Label, Score: x.Score}.Fields("label", "score")
		ignored := ""
		if x.SeedIgnored {
			ignored = "; " + SeedIgnoredFinding + ", so the mismatch says nothing and the behavioral checks decide"
		}
		fmt.Fprintf(b, "Pinned seed %d: exact match **%v** (compared by %s)%s; it answered %s.\n\n",
			x.Seed, x.ExactMatch, e(x.Basis), e(ignored), mdFields(answered))
		if p := x.SeedProbe; p != nil {
			fmt.Fprintf(b, "Seed probe: the pinned seed ran again (runs %d–%d): identical **%v**; %s.\n\n", p.Run, p.LastRun, p.Identical, e(p.Finding))
		}
	}
	if r.Record.StoredText != nil {
		r.writeTexts(b)
	}
	if len(r.LabelCounts) > 0 {
		writeLabelCounts(b, r.LabelCounts)
	}
}

// writeTexts writes the stored text beside the pinned-seed and the most
// typical replayed text, and where the pinned-seed text first diverges.
func (r *Report) writeTexts(b *strings.Builder) {
	e := render.Markdown
	t := render.NewTable(b, "text", "")
	t.Row("stored", e(*r.Record.StoredText))
	if r.Exact != nil && r.Exact.Text != nil {
		t.Row("pinned-seed replay", e(*r.Exact.Text))
	}
	if r.TypicalText != nil {
		t.Row("most typical replay", e(*r.TypicalText))
	}
	b.WriteString("\n")
	if x := r.Exact; x != nil && x.Divergence != nil {
		code := render.MarkdownCode
		fmt.Fprintf(b, "The pinned-seed replay first diverges at character %d (token %d):\n\n- stored: %s\n- replay: %s\n\n",
			x.Divergence.Char, x.Divergence.Token, code(x.Divergence.Stored), code(x.Divergence.Replayed))
	}
}

// writeLabelCounts writes the replayed labels by count (most first, ties
// by label) with their share of all runs.
func writeLabelCounts(b *strings.Builder, counts map[string]int) {
	labels := make([]string, 0, len(counts))
	total := 0
	for l, c := range counts {
		labels = append(labels, l)
		total += c
	}
	sort.Slice(labels, func(i, j int) bool {
		return counts[labels[i]] > counts[labels[j]] || counts[labels[i]] == counts[labels[j]] && labels[i] < labels[j]
	})
	t := render.NewTable(b, "label", "runs:", "share:")
	for _, l := range labels {
		t.Row(render.Markdown(l), strconv.Itoa(counts[l]), fmt.Sprintf("%.3f", float64(counts[l])/float64(total)))
	}
	b.WriteString("\n")
}

// writeTests writes the table of the statistical tests and the checks
// that lacked power.
func (r *Report) writeTests(b *strings.Builder) {
	if len(r.Tests) == 0 {
		return
	}
	e := render.Markdown
	b.WriteString("## Tests\n\n")
	tab := render.NewTable(b, "test", "statistic:", "p-value:", "interval", "method")
	for _, t := range r.Tests {
		tab.Row(e(t.Name), e(testStatistic(t)), e(testPValue(t)), e(testInterval(t)), e(t.Method))
	}
	b.WriteString("\n")
	for _, t := range r.Tests {
		if t.Underpowered != "" {
			need := ""
			if t.RunsNeeded > 0 {
				need = fmt.Sprintf(" (about %d runs would give it the power)", t.RunsNeeded)
			}
			fmt.Fprintf(b, "- **lacked power:** %s: %s%s\n", e(t.Name), e(t.Underpowered), need)
		}
	}
	if len(r.Underpowered) > 0 {
		b.WriteString("\n")
	}
}

// testStatistic is t's statistic (%.4g), or a dash.
func testStatistic(t verdict.TestResult) string {
	return render.OptFloat(t.Statistic, "%.4g")
}

// testPValue is t's p-value (%.4g) with its level, "skipped: why", or a
// dash.
func testPValue(t verdict.TestResult) string {
	if t.Skipped != "" {
		return "skipped: " + t.Skipped
	}
	if t.PValue == nil {
		return render.Dash
	}
	p := fmt.Sprintf("%.4g", *t.PValue)
	if t.Level != nil {
		p += fmt.Sprintf(" (level %.4g)", *t.Level)
	}
	return p
}

// testInterval is t's confidence interval and its Wilson interval, or a
// dash.
func testInterval(t verdict.TestResult) string {
	if t.Interval == nil {
		return render.Dash
	}
	iv := fmt.Sprintf("[%.4f, %.4f] %s %g", t.Interval.Lower, t.Interval.Upper, t.Interval.Method, t.Interval.Conf)
	if t.Wilson != nil {
		iv += fmt.Sprintf("; [%.4f, %.4f] Wilson", t.Wilson.Lower, t.Wilson.Upper)
	}
	return iv
}

// writeTimings writes the wall times in milliseconds.
func (r *Report) writeTimings(b *strings.Builder) {
	fmt.Fprintf(b, "## Timings\n\nsession start %.0f ms, runs %.0f ms (%.2f ms per run), total %.0f ms.\n",
		r.Timings.StartSessionMS, r.Timings.RunsMS, r.Timings.MeanRunMS, r.Timings.TotalMS)
	if r.RepriseVersion != "" {
		fmt.Fprintf(b, "\nReplayed by reprise %s.\n", render.Markdown(r.RepriseVersion))
	}
}
