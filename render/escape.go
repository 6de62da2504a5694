package render

import (
	"html"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Terminal returns s without terminal escape sequences (ANSI CSI
// "ESC [ … final", OSC "ESC ] … BEL/ST", and other two-byte ESC
// sequences) and without C0 and C1 control characters and DEL; a newline
// and a tab become a space when keepNewlines is false, and invalid UTF-8
// becomes U+FFFD. It makes text from a system under replay (labels, its
// stderr in error messages) or from a record safe to print on a terminal:
// it cannot clear the screen, move the cursor or forge a line.
func Terminal(s string, keepNewlines bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == 0x1b || r == 0x9b || r == 0x9d: // ESC, CSI, OSC (C1 forms)
			i += size
			kind := r
			if r == 0x1b && i < len(s) {
				switch s[i] {
				case '[':
					kind, i = 0x9b, i+1
				case ']', 'P', '_', '^', 'X':
					kind, i = 0x9d, i+1
				default:
					i++ // ESC + one character
					continue
				}
			}
			if kind == 0x9b { // parameters and intermediates, then one final byte
				for i < len(s) && s[i] >= 0x20 && s[i] <= 0x3f {
					i++
				}
				for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
					i++
				}
				if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
					i++
				}
				continue
			}
			// A string sequence: up to BEL or ST (ESC \ or U+009C).
			for i < len(s) {
				if s[i] == 0x07 {
					i++
					break
				}
				if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\' {
					i += 2
					break
				}
				if rr, n := utf8.DecodeRuneInString(s[i:]); rr == 0x9c {
					i += n
					break
				} else {
					i += n
				}
			}
			continue
		case r == '\n' && keepNewlines:
			b.WriteByte('\n')
		case r == '\n' || r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			// dropped
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Markdown makes s safe as the text of a Markdown table cell or list item:
// control characters and escape sequences are stripped (Terminal), a
// newline becomes a visible \n, and the characters that Markdown or HTML
// would interpret (\ | * _ ` # < > [ ] and others that start a construct)
// are backslash-escaped, so a label cannot forge a heading, a link, HTML
// or a table column.
func Markdown(s string) string {
	s = Terminal(strings.ReplaceAll(s, "\r\n", "\n"), true)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '\\', '|', '*', '_', '`', '#', '<', '>', '[', ']', '!', '~', '&':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// plainRe matches what needs no escaping at all: identifiers, digests,
// image references, paths of ordinary characters.
var plainRe = regexp.MustCompile(`^[A-Za-z0-9.:@/+=,-]+$`)

// MarkdownCode is a value shown as code: in backticks when it is made only
// of plain characters (a digest, an image reference), else Markdown text.
func MarkdownCode(s string) string {
	if plainRe.MatchString(s) || plainRe.MatchString(strings.ReplaceAll(s, "_", "")) {
		return "`" + s + "`"
	}
	return Markdown(s)
}

// MarkdownPlain is s as is when it is made only of plain characters and
// underscores (a request id), else Markdown text.
func MarkdownPlain(s string) string {
	if plainRe.MatchString(strings.ReplaceAll(s, "_", "")) {
		return s
	}
	return Markdown(s)
}

// MarkdownCell is the nightly summary's escape of a table cell or a line
// of the GitHub step summary: control characters and escape sequences are
// stripped (Terminal), a newline becomes a space, and every character that
// GitHub's Markdown would read as markup is backslash-escaped: HTML tags
// and entities (< > &), code spans (`), links and images ([ ] !), emphasis
// and strikethrough (* _ ~), headings (#), the table's | and the backslash
// itself. An underscore between two letters or digits stays as it is: it
// cannot open or close emphasis there, so a request id such as req_ci_07
// reads as typed. Unlike Markdown a newline does not show as \n.
func MarkdownCell(s string) string {
	rs := []rune(Terminal(s, false))
	var b strings.Builder
	for i, r := range rs {
		switch r {
		case '_':
			if i > 0 && i+1 < len(rs) && isWordRune(rs[i-1]) && isWordRune(rs[i+1]) {
				b.WriteRune(r)
				continue
			}
			b.WriteString(`\_`)
		case '\\', '|', '*', '`', '#', '<', '>', '[', ']', '!', '~', '&':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isWordRune is a letter or a digit: an underscore between two of them is
// intraword, never emphasis (CommonMark's flanking rules).
func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// HTML escapes s as HTML text or a quoted attribute value (< > & ' ").
func HTML(s string) string { return html.EscapeString(s) }

// workflowData escapes the data of a GitHub workflow command.
var workflowData = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")

// WorkflowData escapes s as the data (or a property) of a GitHub workflow
// command such as "::error title=…::…": %, CR and LF are percent-encoded,
// so s cannot end the command or start another.
func WorkflowData(s string) string { return workflowData.Replace(s) }
