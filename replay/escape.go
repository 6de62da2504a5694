package replay

import "github.com/reprise-dev/reprise/render"

// The escapes of report.md are render's (one place for every format);
// these names serve the eval section (evals.go).
var (
	mdEscape = render.Markdown
	mdCode   = render.MarkdownCode
)
