package nightly

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/reprise-dev/reprise/render"
)

// FleetCase names the JUnit test case of a system's fleet test.
const FleetCase = "fleet substitution test"

// fleetJUnit adds one test case per system with a fleet test to its suite
// (a failure when it is flagged).
func (n *Night) fleetJUnit(suites []junitSuite) []junitSuite {
	for _, s := range n.Systems {
		if s.Fleet == nil {
			continue
		}
		i := 0
		for i < len(suites) && suites[i].Name != s.Name {
			i++
		}
		if i == len(suites) {
			suites = append(suites, junitSuite{Name: s.Name})
		}
		c := junitCase{Name: FleetCase, ClassName: s.Name}
		if s.Fleet.Flagged {
			c.Failure = &junitMessage{Message: "SUBSTITUTION", Type: "SUBSTITUTION", Text: s.Fleet.summary(s.Name)}
			suites[i].Failures++
		}
		suites[i].Tests++
		suites[i].Cases = append(suites[i].Cases, c)
	}
	return suites
}

// fleetMarkdown writes the fleet test table of the summary (nothing when
// no system has one).
func (n *Night) fleetMarkdown(b *strings.Builder) {
	if !n.hasFleet() {
		return
	}
	e := render.MarkdownCell
	fmt.Fprintf(b, "\n### Fleet substitution test\n\nIs every decision explained by its pinned system? One-sided KS test of the records' conformal p-values (alpha %g); share not explained (Storey's 1 − π0) with its 95%% interval.\n\n", n.fleetAlpha())
	t := render.NewTable(b, "system", "records:", "runs:", "KS D+:", "p:", "share not explained:", "95% interval", "verdict")
	for _, s := range n.Systems {
		if f := s.Fleet; f != nil {
			t.Row(e(s.Name), strconv.Itoa(f.Records), strconv.Itoa(f.Runs), fmt.Sprintf("%.4f", f.Statistic), fmt.Sprintf("%.3g", f.PValue),
				fmt.Sprintf("%.3f", f.Share), fmt.Sprintf("[%.3f, %.3f]", f.Lower, f.Upper), fleetWord(f))
		}
	}
}

// fleetHTML is the fleet test section of report.html ("" when no system
// has one).
func (n *Night) fleetHTML() string {
	if !n.hasFleet() {
		return ""
	}
	e := render.HTML
	var b strings.Builder
	fmt.Fprintf(&b, `<h2>Fleet substitution test</h2><p>One-sided Kolmogorov–Smirnov test of the records' randomized conformal p-values against U(0, 1) at alpha %g; share of decisions not explained by the pinned system (Storey's 1 − π0, λ = %g) with its 95%% interval.</p>`, n.fleetAlpha(), FleetLambda)
	b.WriteString(`<table class="fleet"><tr><th>system</th><th>records</th><th>runs</th><th>KS D+</th><th>p</th><th>share not explained</th><th>95% interval</th><th>verdict</th></tr>`)
	for _, s := range n.Systems {
		if f := s.Fleet; f != nil {
			fmt.Fprintf(&b, `<tr><td>%s</td><td>%d</td><td>%d</td><td>%.4f</td><td>%.3g</td><td>%.3f</td><td>[%.3f, %.3f]</td><td class="%s">%s</td></tr>`,
				e(s.Name), f.Records, f.Runs, f.Statistic, f.PValue, f.Share, f.Lower, f.Upper, fleetClass(f), fleetWord(f))
		}
	}
	b.WriteString("</table>")
	return b.String()
}

// fleetAnnotations are the ::error lines of the flagged systems.
func (n *Night) fleetAnnotations() string {
	var b strings.Builder
	for _, s := range n.Systems {
		if s.Fleet != nil && s.Fleet.Flagged {
			fmt.Fprintf(&b, "::error title=fleet substitution::%s\n", render.WorkflowData(s.Fleet.summary(s.Name)))
		}
	}
	return b.String()
}

func (n *Night) hasFleet() bool {
	for _, s := range n.Systems {
		if s.Fleet != nil {
			return true
		}
	}
	return false
}

func (n *Night) fleetAlpha() float64 {
	for _, s := range n.Systems {
		if s.Fleet != nil {
			return s.Fleet.Alpha
		}
	}
	return n.Config.FleetAlpha
}

func fleetWord(f *Fleet) string {
	if f.Flagged {
		return "SUBSTITUTION"
	}
	return "ok"
}

func fleetClass(f *Fleet) string {
	if f.Flagged {
		return "DIVERGED"
	}
	return "REPRODUCED"
}
