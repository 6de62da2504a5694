package render

import (
	"strings"
	"testing"
)

func TestTerminal(t *testing.T) {
	for in, want := range map[string]string{
		"ok":                          "ok",
		"a\x1b[2Jb":                   "ab",
		"a\x1b[1;31mred\x1b[0m":       "ared",
		"t\x1b]0;title\x07x":          "tx",
		"t\x1b]8;;http://x\x1b\\link": "tlink",
		"nul\x00bell\x07del\x7f":      "nulbelldel",
		"c1\u0085\u009b2J":            "c1",
		"line1\nline2\r\tend":         "line1 line2 end",
		"bad\xffutf8":                 "bad\uFFFDutf8",
	} {
		if got := Terminal(in, false); got != want {
			t.Errorf("Terminal(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMarkdown(t *testing.T) {
	for in, want := range map[string]string{
		"approved":           "approved",
		"a|b":                `a\|b`,
		"# head\n[x](y) <b>": `\# head\n\[x\](y) \<b\>`,
		"*em* _u_ `c` !~&":   "\\*em\\* \\_u\\_ \\`c\\` \\!\\~\\&",
		"crlf\r\nend\x1b[2J": `crlf\nend`,
	} {
		if got := Markdown(in); got != want {
			t.Errorf("Markdown(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"sha256:abc": "`sha256:abc`",
		"req_1":      "`req_1`",
		"a b":        "a b",
		"x`y":        "x\\`y",
	} {
		if got := MarkdownCode(in); got != want {
			t.Errorf("MarkdownCode(%q) = %q, want %q", in, got, want)
		}
	}
	if got := MarkdownPlain("req_1"); got != "req_1" {
		t.Errorf("MarkdownPlain(req_1) = %q", got)
	}
}

// TestMarkdownCell: text from a record in the GitHub step summary cannot
// open HTML, a link, an image, a code span, emphasis, strikethrough or a
// heading, nor break the table row; identifiers read as typed.
func TestMarkdownCell(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"req_ci_07", "req_ci_07"},
		{"loan-approver 2.4.1 (ff4f533255cb, cpu/amd64/x86-64-v3)", "loan-approver 2.4.1 (ff4f533255cb, cpu/amd64/x86-64-v3)"},
		{"a|b\n*c*", `a\|b \*c\*`},
		{"crlf\r\nend\x1b[2J\ttab", "crlf end tab"},
		{`<img src=x onerror=alert(1)> &amp; <!-- c -->`, `\<img src=x onerror=alert(1)\> \&amp; \<\!-- c --\>`},
		{"[click](https://evil.example) ![i](x)", `\[click\](https://evil.example) \!\[i\](x)`},
		{"`code` ~~gone~~ **bold** __u__ _em_", "\\`code\\` \\~\\~gone\\~\\~ \\*\\*bold\\*\\* \\_\\_u\\_\\_ \\_em\\_"},
		{"# heading", `\# heading`},
		{`back\slash`, `back\\slash`},
		{"snake_case_ _x", `snake_case\_ \_x`},
	} {
		if got := MarkdownCell(c.in); got != c.want {
			t.Errorf("MarkdownCell(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestWorkflowData(t *testing.T) {
	if got := WorkflowData("50%\r\n::error::x"); got != "50%25%0D%0A::error::x" {
		t.Errorf("WorkflowData = %q", got)
	}
}

func TestTable(t *testing.T) {
	var b strings.Builder
	tab := NewTable(&b, "label", "runs:")
	tab.Row("a", "1")
	if want := "| label | runs |\n|---|---:|\n| a | 1 |\n"; b.String() != want {
		t.Errorf("table = %q, want %q", b.String(), want)
	}
	b.Reset()
	tab = NewTable(&b, "", "run", "mean:")
	tab.Row("stored", "x", "0.5")
	if want := "| | run | mean |\n|---|---|---:|\n| stored | x | 0.5 |\n"; b.String() != want {
		t.Errorf("table with an unnamed column = %q, want %q", b.String(), want)
	}
	var f *float64
	if OptFloat(f, "%.3g") != "—" || DashIfEmpty("") != "—" {
		t.Error("an absent value is not a dash")
	}
}
