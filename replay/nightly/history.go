package nightly

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/reprise-dev/reprise/render"
	"github.com/reprise-dev/reprise/stats"
	"github.com/reprise-dev/reprise/verdict"
)

// ErrHistory: the folders given to History are not nights it can compare
// (a folder without a night's report.json, fewer than two nights).
var ErrHistory = errors.New("not a night history")

// DefaultHistoryAlpha is the family-wise level of History's tests.
const DefaultHistoryAlpha = 0.05

// History is what `reprise nightly history` shows: the nights in time
// order (by their latest decision), and per system its reproducibility
// rate and fleet share over them, whether tonight (the last night)
// differs from the previous nights, and the changes of what the server
// said of itself between nights.
type History struct {
	Nights  []HistoryNight  `json:"nights"`
	Systems []SystemHistory `json:"systems"`
	// Alpha is the family-wise level of the tests, split over them
	// (Bonferroni): each test runs at Alpha / Tests.
	Alpha float64 `json:"alpha"`
	Tests int     `json:"tests"`
	// Changed: tonight differs from the previous nights, or the server's
	// fingerprint or model changed between nights (exit 1).
	Changed bool     `json:"changed"`
	Notes   []string `json:"notes"`
}

// HistoryNight is one night of a history.
type HistoryNight struct {
	Dir     string    `json:"dir"`
	Date    time.Time `json:"date"`
	Outcome string    `json:"outcome"`
	Records int       `json:"records"`
}

// SystemHistory is one system across the nights.
type SystemHistory struct {
	System string         `json:"system"`
	Name   string         `json:"name"`
	Points []HistoryPoint `json:"points"`
	// Rate and Share test tonight against the previous nights pooled.
	Rate  *ChangeTest `json:"rate_test,omitempty"`
	Share *ChangeTest `json:"share_test,omitempty"`
	// Changes are the changes of fingerprint or served model between
	// consecutive nights in which the system was replayed.
	Changes []string `json:"changes,omitempty"`
}

// HistoryPoint is one system in one night (Night indexes History.Nights).
type HistoryPoint struct {
	Night        int      `json:"night"`
	Records      int      `json:"records"`
	Reproduced   int      `json:"reproduced"`
	Rate         float64  `json:"rate"`
	Lower        float64  `json:"lower"`
	Upper        float64  `json:"upper"`
	Fleet        *Fleet   `json:"fleet,omitempty"`
	Fingerprints []string `json:"fingerprints,omitempty"`
	ServedModels []string `json:"served_models,omitempty"`
	// fleetAbove and fleetN count the fleet p-values at or above
	// FleetLambda, and all of them.
	fleetAbove, fleetN int
}

// ChangeTest compares a count tonight with the previous nights': Fisher's
// exact test (two-sided) of the 2×2 table (x, n−x) tonight against the
// previous nights pooled, at the history's level split over its tests.
type ChangeTest struct {
	What     string  `json:"what"`
	Tonight  int     `json:"tonight"`
	TonightN int     `json:"tonight_n"`
	Before   int     `json:"before"`
	BeforeN  int     `json:"before_n"`
	PValue   float64 `json:"p_value"`
	Level    float64 `json:"level"`
	Differs  bool    `json:"differs"`
}

// ReadHistory reads the nights in dirs (each a night's output folder with
// its report.json) and compares them (NewHistory) at level alpha (0:
// DefaultHistoryAlpha). Errors: ErrHistory.
func ReadHistory(dirs []string, alpha float64) (*History, error) {
	var nights []*Night
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ReportJSON))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v (a night's output folder holds %s)", ErrHistory, d, err, ReportJSON)
		}
		var rep struct {
			Schema string `json:"schema"`
			Night
		}
		if err := json.Unmarshal(b, &rep); err != nil || rep.Schema != ReportSchema {
			return nil, fmt.Errorf("%w: %s: not a night's report (schema %q, want %s): %v", ErrHistory, filepath.Join(d, ReportJSON), rep.Schema, ReportSchema, err)
		}
		nights = append(nights, &rep.Night)
	}
	return NewHistory(dirs, nights, alpha)
}

// NewHistory compares nights (read from dirs, in the same order): they
// are put in time order by their latest decision (ties: as given), and
// the last is tonight. Errors: ErrHistory (fewer than two nights).
func NewHistory(dirs []string, nights []*Night, alpha float64) (*History, error) {
	if len(nights) < 2 {
		return nil, fmt.Errorf("%w: %d night given; a history compares at least two", ErrHistory, len(nights))
	}
	if alpha == 0 {
		alpha = DefaultHistoryAlpha
	}
	if !(alpha > 0 && alpha < 1) {
		return nil, fmt.Errorf("%w: alpha must be in (0, 1), got %g", ErrHistory, alpha)
	}
	h := &History{Alpha: alpha, Notes: []string{}}
	order := make([]int, len(nights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return latest(nights[a]).Compare(latest(nights[b])) })
	bySys := map[string]*SystemHistory{}
	var sysOrder []string
	for k, i := range order {
		n := nights[i]
		h.Nights = append(h.Nights, HistoryNight{Dir: dirs[i], Date: latest(n), Outcome: n.Outcome, Records: len(n.Records)})
		for _, p := range points(n, k) {
			s := bySys[p.sys]
			if s == nil {
				s = &SystemHistory{System: p.sys, Name: p.name}
				bySys[p.sys] = s
				sysOrder = append(sysOrder, p.sys)
			}
			s.Points = append(s.Points, p.HistoryPoint)
		}
	}
	for _, k := range sysOrder {
		h.Systems = append(h.Systems, *bySys[k])
	}
	h.compare()
	return h, nil
}

// latest is the time of a night's latest decision (zero: none).
func latest(n *Night) time.Time {
	var t time.Time
	for _, r := range n.Records {
		if r.Timestamp.After(t) {
			t = r.Timestamp
		}
	}
	return t.UTC()
}

type sysPoint struct {
	sys, name string
	HistoryPoint
}

// points are a night's systems as history points of night k.
func points(n *Night, k int) []sysPoint {
	var out []sysPoint
	for _, s := range n.Systems {
		p := sysPoint{sys: s.System, name: s.Name, HistoryPoint: HistoryPoint{Night: k, Records: s.Records, Reproduced: s.Reproduced,
			Rate: s.Rate, Lower: s.Lower, Upper: s.Upper, Fleet: s.Fleet}}
		for _, r := range n.Records {
			if r.System != s.System || r.ReplayVerdict == verdict.Failed {
				continue
			}
			p.Fingerprints = appendNew(p.Fingerprints, r.Fingerprints...)
			p.ServedModels = appendNew(p.ServedModels, r.ServedModels...)
			if r.FleetP != nil {
				p.fleetN++
				if *r.FleetP >= FleetLambda {
					p.fleetAbove++
				}
			}
		}
		out = append(out, p)
	}
	return out
}

func appendNew(s []string, vs ...string) []string {
	for _, v := range vs {
		if !slices.Contains(s, v) {
			s = append(s, v)
		}
	}
	return s
}

// compare makes the tests of tonight against the previous nights (for
// each system replayed tonight and before: the rate, and the share of
// fleet p-values below λ) at Alpha over their number, and lists the
// server changes.
func (h *History) compare() {
	tonight := len(h.Nights) - 1
	for i := range h.Systems {
		s := &h.Systems[i]
		last := s.Points[len(s.Points)-1]
		if last.Night != tonight || len(s.Points) < 2 {
			continue
		}
		var rep, recs, above, fn int
		for _, p := range s.Points[:len(s.Points)-1] {
			rep, recs, above, fn = rep+p.Reproduced, recs+p.Records, above+p.fleetAbove, fn+p.fleetN
		}
		if recs > 0 && last.Records > 0 {
			s.Rate = &ChangeTest{What: "reproduced", Tonight: last.Reproduced, TonightN: last.Records, Before: rep, BeforeN: recs}
			h.Tests++
		}
		if fn > 0 && last.fleetN > 0 {
			s.Share = &ChangeTest{What: fmt.Sprintf("fleet p-values below %g", FleetLambda), Tonight: last.fleetN - last.fleetAbove, TonightN: last.fleetN, Before: fn - above, BeforeN: fn}
			h.Tests++
		}
	}
	for i := range h.Systems {
		s := &h.Systems[i]
		for _, t := range []*ChangeTest{s.Rate, s.Share} {
			if t != nil {
				h.Changed = t.run(h.Alpha/float64(h.Tests)) || h.Changed
			}
		}
		s.Changes = serverChanges(h.Nights, s.Points)
		h.Changed = h.Changed || len(s.Changes) > 0
	}
	if h.Tests == 0 {
		h.Notes = append(h.Notes, "no system was replayed both tonight and before: nothing to test")
	}
}

// run tests t at level (Fisher's exact test on the 2×2 table) and
// reports whether tonight differs.
func (t *ChangeTest) run(level float64) bool {
	tab := [][]float64{{float64(t.Tonight), float64(t.TonightN - t.Tonight)}, {float64(t.Before), float64(t.BeforeN - t.Before)}}
	t.Level, t.PValue = level, 1
	if r, err := stats.FisherExact(tab); err == nil {
		t.PValue = r.PValue
	}
	t.Differs = t.PValue <= level
	return t.Differs
}

// serverChanges lists the changes of fingerprints and served models
// between consecutive points that both have them.
func serverChanges(nights []HistoryNight, ps []HistoryPoint) []string {
	var out []string
	for i := 1; i < len(ps); i++ {
		a, b := ps[i-1], ps[i]
		for _, c := range []struct {
			what   string
			va, vb []string
		}{{"system_fingerprint", a.Fingerprints, b.Fingerprints}, {"served model", a.ServedModels, b.ServedModels}} {
			if len(c.va) > 0 && len(c.vb) > 0 && !slices.Equal(sorted(c.va), sorted(c.vb)) {
				out = append(out, fmt.Sprintf("%s changed between %s and %s: %s → %s", c.what,
					nightName(nights[a.Night]), nightName(nights[b.Night]), strings.Join(c.va, ", "), strings.Join(c.vb, ", ")))
			}
		}
	}
	return out
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func nightName(n HistoryNight) string { return cmp.Or(filepath.Base(n.Dir), n.Dir) }

// Text writes the history for a terminal: the nights, then per system a
// line per night (rate and interval, fleet share and interval, the
// server's fingerprints and models), its tests and its changes, and the
// conclusion.
func (h *History) Text(w io.Writer) error {
	term := func(s string) string { return render.Terminal(s, false) }
	fmt.Fprintf(w, "%d nights, tonight is %s\n", len(h.Nights), term(nightName(h.Nights[len(h.Nights)-1])))
	for i, n := range h.Nights {
		fmt.Fprintf(w, "  night %d: %s  %s  %d records, %s\n", i, term(nightName(n)), n.Date.Format(time.RFC3339), n.Records, n.Outcome)
	}
	for _, s := range h.Systems {
		fmt.Fprintf(w, "%s\n", term(s.Name))
		for _, p := range s.Points {
			share := "no fleet test"
			if f := p.Fleet; f != nil {
				share = fmt.Sprintf("share not explained %.3f [%.3f, %.3f]%s", f.Share, f.Lower, f.Upper, map[bool]string{true: " SUBSTITUTION"}[f.Flagged])
			}
			fmt.Fprintf(w, "  night %d: rate %.3f [%.3f, %.3f] (%d/%d), %s", p.Night, p.Rate, p.Lower, p.Upper, p.Reproduced, p.Records, share)
			if len(p.Fingerprints)+len(p.ServedModels) > 0 {
				fmt.Fprintf(w, ", server %s", term(strings.Join(append(slices.Clone(p.Fingerprints), p.ServedModels...), " ")))
			}
			fmt.Fprintln(w)
		}
		for _, t := range []*ChangeTest{s.Rate, s.Share} {
			if t != nil {
				fmt.Fprintf(w, "  tonight vs before, %s: %d/%d vs %d/%d, Fisher p = %.4g (level %.4g)%s\n", t.What, t.Tonight, t.TonightN, t.Before, t.BeforeN,
					t.PValue, t.Level, map[bool]string{true: ": DIFFERS"}[t.Differs])
			}
		}
		for _, c := range s.Changes {
			fmt.Fprintf(w, "  CHANGED: %s\n", term(c))
		}
	}
	for _, n := range h.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	word := "tonight is consistent with the previous nights"
	if h.Changed {
		word = "CHANGED: tonight differs from the previous nights, or the server changed"
	}
	_, err := fmt.Fprintf(w, "%s (family-wise alpha %g over %d tests)\n", word, h.Alpha, h.Tests)
	return err
}
