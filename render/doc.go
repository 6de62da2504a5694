// Package render is the one place where text from a record, a system under
// replay or its errors is made safe for an output format: a terminal
// (Terminal), Markdown (Markdown, MarkdownCode, MarkdownPlain, MarkdownCell),
// HTML (HTML) and GitHub workflow commands (WorkflowData), and the small
// pieces of report that replay, replay/nightly and replay/compare share: a
// step summary's heading (Heading), a Markdown table (Table) and the dash of
// an absent value (Dash, OptFloat, DashIfEmpty); the aligned "key: value"
// text of a result struct (Fields); and the --format of a verb's result
// (Format, Write, WriteJSON). JUnit XML
// needs no escaping of its own: encoding/xml escapes attributes and
// character data.
//
// It imports only the standard library.
package render
