package evals

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/verdict"
)

// Short is a digest as the text reports print it: the algorithm and the
// first 12 hex digits ("sha256:0123456789ab"); "" for the zero digest.
func Short(d digest.Digest) string {
	if d.IsZero() {
		return ""
	}
	return digest.Algorithm + ":" + d.Short()
}

// dash is s, or "-" when s is empty.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// SuiteInfo is one suite as evals ls and show print it.
type SuiteInfo struct {
	Digest      digest.Digest     `json:"digest"`
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Description string            `json:"description,omitempty"`
	Scorer      ScorerSpec        `json:"scorer"`
	Items       int               `json:"items"`
	Tags        map[string]int    `json:"tags,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	SuiteJSON   digest.Digest     `json:"suite_json"`
	ItemsJSONL  digest.Digest     `json:"items_jsonl"`
}

// Info describes s: its spec, the number of items per tag, its files.
func (s *Suite) Info() SuiteInfo {
	tags := map[string]int{}
	for _, it := range s.Items {
		for _, t := range it.Tags {
			tags[t]++
		}
	}
	return SuiteInfo{Digest: s.Digest, Name: s.Spec.Name, Version: s.Spec.Version, Description: s.Spec.Description,
		Scorer: s.Spec.Scorer, Items: len(s.Items), Tags: tags, Metadata: s.Spec.Metadata,
		SuiteJSON: s.Manifest.Spec, ItemsJSONL: s.Manifest.Items}
}

// joinKV is m as "k=v, …" in key order, or "-" when empty.
func joinKV(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return dash(strings.Join(parts, ", "))
}

// WriteText prints the suite as aligned "key: value" lines.
func (i SuiteInfo) WriteText(w io.Writer) error {
	scorer, err := json.Marshal(i.Scorer)
	if err != nil {
		return err
	}
	tags := map[string]string{}
	for k, n := range i.Tags {
		tags[k] = strconv.Itoa(n)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, r := range [][2]string{
		{"digest", i.Digest.String()}, {"name", i.Name}, {"version", i.Version}, {"description", dash(i.Description)},
		{"scorer", string(scorer)}, {"items", strconv.Itoa(i.Items)}, {"tags", joinKV(tags)}, {"metadata", joinKV(i.Metadata)},
		{"suite.json", i.SuiteJSON.String()}, {"items.jsonl", i.ItemsJSONL.String()},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

// SuiteList is the suites evals ls prints.
type SuiteList []SuiteInfo

// ListInfos describes every suite in the store (ListSuites), verified.
func ListInfos(ctx context.Context, st Lister) (SuiteList, error) {
	ds, err := ListSuites(ctx, st)
	if err != nil {
		return nil, err
	}
	infos := SuiteList{}
	for _, d := range ds {
		su, err := Load(ctx, st, d)
		if err != nil {
			return nil, err
		}
		infos = append(infos, su.Info())
	}
	return infos, nil
}

// WriteText prints one line per suite under a header.
func (l SuiteList) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DIGEST\tNAME\tVERSION\tITEMS\tSCORER")
	for _, i := range l {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", i.Digest, i.Name, i.Version, i.Items, i.Scorer.Type)
	}
	return tw.Flush()
}

// SuiteShow is a suite as evals show prints it: its info and, when asked
// for, its items.
type SuiteShow struct {
	SuiteInfo
	ItemList []Item `json:"item_list,omitempty"`
}

// WriteText prints the info, then a table of the items when there are.
func (s SuiteShow) WriteText(w io.Writer) error {
	if err := s.SuiteInfo.WriteText(w); err != nil || s.ItemList == nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ITEM\tTAGS\tREFERENCE")
	for _, it := range s.ItemList {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", it.ID, dash(strings.Join(it.Tags, ",")), it.Reference)
	}
	return tw.Flush()
}

// SuiteRef names the suite of a result: its digest, name and version.
type SuiteRef struct {
	Suite        digest.Digest `json:"suite"`
	SuiteName    string        `json:"suite_name"`
	SuiteVersion string        `json:"suite_version"`
}

// Ref names suite s.
func (s *Suite) Ref() SuiteRef {
	return SuiteRef{Suite: s.Digest, SuiteName: s.Spec.Name, SuiteVersion: s.Spec.Version}
}

// RunResult is a stored run as evals run, rescore and history print it.
type RunResult struct {
	Run digest.Digest `json:"run"`
	SuiteRef
	System digest.Digest `json:"system"`
	Model  string        `json:"model"` // name and version
	// Epochs is the runs per item; ItemsRun and Rescored count the items
	// run and re-scored, From the runs re-scored.
	Epochs   int             `json:"epochs"`
	ItemsRun int             `json:"items_run"`
	Rescored int             `json:"items_rescored"`
	From     []digest.Digest `json:"rescored_from,omitempty"`
	Summary  Summary         `json:"summary"`
}

// Result is the run m, whose digest is d, as a RunResult.
func (m *RunManifest) Result(d digest.Digest) RunResult {
	return RunResult{Run: d, SuiteRef: SuiteRef{m.Suite, m.SuiteName, m.SuiteVersion}, System: m.System.ID,
		Model: m.System.Model.Name + " " + m.System.Model.Version, Epochs: m.Epochs, ItemsRun: m.Ran, Rescored: m.Rescored,
		From: m.From, Summary: m.Summary}
}

// WriteText prints the run, its mean score with its interval, and the
// score per tag.
func (r RunResult) WriteText(w io.Writer) error {
	sm := r.Summary
	fmt.Fprintf(w, "run %s\n", r.Run)
	fmt.Fprintf(w, "suite %s %s (%s)\nsystem %s (%s)\n", r.SuiteName, r.SuiteVersion, r.Suite, r.System, r.Model)
	fmt.Fprintf(w, "items %d × %d epochs: %d run, %d re-scored; %d error answers\n", sm.Items, r.Epochs, r.ItemsRun, r.Rescored, sm.Errors)
	fmt.Fprintf(w, "mean score %.4f  %g%% CI [%.4f, %.4f] (items as clusters)\n", sm.Mean, sm.Conf*100, sm.Lower, sm.Upper)
	for _, t := range sm.ByTag {
		fmt.Fprintf(w, "  tag %-12s %.4f  [%.4f, %.4f]  (%d items)\n", t.Tag, t.Mean, t.Lower, t.Upper, t.Items)
	}
	return nil
}

// RunResults are runs as evals history prints them.
type RunResults []RunResult

// Results are the runs of h.
func Results(h []HistoryEntry) RunResults {
	res := make(RunResults, 0, len(h))
	for _, e := range h {
		res = append(res, e.Result(e.Run))
	}
	return res
}

// WriteEach prints each run as RunResult.WriteText does, one after the
// other (what evals rescore prints).
func (rs RunResults) WriteEach(w io.Writer) error {
	for _, r := range rs {
		if err := r.WriteText(w); err != nil {
			return err
		}
	}
	return nil
}

// WriteText prints one line per run under a header.
func (rs RunResults) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSUITE\tSUITE DIGEST\tSYSTEM\tMODEL\tITEMS×K\tMEAN\tCI")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\t%d×%d\t%.4f\t[%.4f, %.4f]\n", Short(r.Run), r.SuiteName, r.SuiteVersion, Short(r.Suite),
			Short(r.System), r.Model, r.Summary.Items, r.Epochs, r.Summary.Mean, r.Summary.Lower, r.Summary.Upper)
	}
	return tw.Flush()
}

// WriteText prints the comparison of the runs a and b (their suite and
// models named): the means, the difference with its interval, the test,
// the flipped items, the TOST verdict when there is one, the warnings.
func (c *Comparison) WriteText(w io.Writer, a, b *RunManifest) error {
	fmt.Fprintf(w, "suite %s %s (%s), %d paired items\n", a.SuiteName, a.SuiteVersion, c.Suite, c.Items)
	fmt.Fprintf(w, "A %s (%s %s): %.4f\n", Short(c.RunA), a.System.Model.Name, a.System.Model.Version, c.MeanA)
	fmt.Fprintf(w, "B %s (%s %s): %.4f\n", Short(c.RunB), b.System.Model.Name, b.System.Model.Version, c.MeanB)
	fmt.Fprintf(w, "difference B − A %+.4f", c.Diff)
	if !c.Binary {
		fmt.Fprintf(w, "  %g%% CI [%.4f, %.4f] (paired bootstrap, BCa)", c.Conf*100, c.Lower, c.Upper)
	}
	fmt.Fprintf(w, "\n%s: p = %.4g\n", c.Test, c.PValue)
	fmt.Fprintf(w, "flipped items: %d\n", len(c.Flipped))
	for _, f := range c.Flipped {
		fmt.Fprintf(w, "  %s  A %.3g → B %.3g\n", f.Item, f.A, f.B)
	}
	if c.Equivalent != nil {
		fmt.Fprintf(w, "TOST (margin ±%g): p = %.4g → %s\n", c.Margin, *c.TOSTP, c.Verdict)
	}
	for _, wn := range c.Warnings {
		fmt.Fprintf(w, "warning: %s\n", wn)
	}
	return nil
}

// CompareRuns is Compare of the stored runs a and b.
func CompareRuns(a, b *StoredRun, o CompareOptions) (*Comparison, error) {
	return Compare(a.Run, b.Run, a.RunManifest, b.RunManifest, a.Rows, b.Rows, o)
}

// CheckResult is a record's pinned suite run again, as evals check prints
// it.
type CheckResult struct {
	Record     string          `json:"record"`
	Suite      digest.Digest   `json:"suite"`
	System     digest.Digest   `json:"system"`
	StoredRun  digest.Digest   `json:"stored_run"`
	ReplayRun  digest.Digest   `json:"replayed_run"`
	Comparison *Comparison     `json:"comparison"`
	Verdict    verdict.Verdict `json:"verdict"`

	ref SuiteRef
}

// CheckResult is r as the result of the eval check of the record whose
// request id is record.
func (r *Reproduction) CheckResult(record string) CheckResult {
	return CheckResult{Record: record, Suite: r.Suite, System: r.System, StoredRun: r.Baseline, ReplayRun: r.Run,
		Comparison: r.Comparison, Verdict: r.Verdict, ref: r.SuiteRef}
}

// WriteText prints the verdict, both runs' means, the difference with the
// 1 − 2α interval the TOST decides with, and the paired test.
func (r CheckResult) WriteText(w io.Writer) error {
	c := r.Comparison
	fmt.Fprintf(w, "%s: eval suite %s %s (%s): %s\n", r.Record, r.ref.SuiteName, r.ref.SuiteVersion, r.Suite, r.Verdict)
	fmt.Fprintf(w, "  stored run %s: %.4f; replayed run %s: %.4f\n", Short(r.StoredRun), c.MeanA, Short(r.ReplayRun), c.MeanB)
	fmt.Fprintf(w, "  difference %+.4f, %g%% interval [%.4f, %.4f], margin ±%g, TOST p = %.4g\n",
		c.Diff, (1-2*c.Alpha)*100, *c.EqLower, *c.EqUpper, c.Margin, *c.TOSTP)
	fmt.Fprintf(w, "  %s: p = %.4g; flipped items: %d\n", c.Test, c.PValue, len(c.Flipped))
	return nil
}

// LeakageOf tests suite s against the stored training dataset d (Leakage
// over ScanDataset) and names d in the report.
func LeakageOf(ctx context.Context, st store.Reader, s *Suite, d digest.Digest, threshold float64) (*LeakReport, error) {
	ds, err := LoadDataset(ctx, st, d)
	if err != nil {
		return nil, err
	}
	rep, err := Leakage(ctx, s, threshold, ScanDataset(ctx, st, ds))
	if err != nil {
		return nil, err
	}
	rep.Dataset = d
	return rep, nil
}

// WriteText prints the suite and dataset, the items with n-grams found or
// exact duplicates, and how many items are flagged.
func (r *LeakReport) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "suite %s %s (%s), %d items; dataset %s: %d documents, %d bytes\n",
		r.suiteName, r.suiteVersion, r.Suite, len(r.Items), r.Dataset, r.Documents, r.Bytes)
	for _, it := range r.Items {
		if it.Found > 0 || it.Duplicate {
			dup := ""
			if it.Duplicate {
				dup = "  exact duplicate"
			}
			fmt.Fprintf(w, "  %s  %d of %d n-grams found (%.2f)%s\n", it.Item, it.Found, it.NGrams, it.Share, dup)
		}
	}
	fmt.Fprintf(w, "flagged (share > %g or duplicate): %d\n", r.Threshold, len(r.Flagged))
	return nil
}
