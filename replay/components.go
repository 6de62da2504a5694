package replay

import (
	"maps"
	"slices"

	"github.com/reprise-dev/reprise/render"
	"github.com/reprise-dev/reprise/system"
)

// componentDigests is the system's pinned components for the report, name
// → digest ("sha256:…"); nil when it has none.
func componentDigests(s system.System) map[string]string {
	if len(s.Components) == 0 {
		return nil
	}
	out := make(map[string]string, len(s.Components))
	for n, d := range s.Components {
		out[n] = d.String()
	}
	return out
}

// componentRows writes one row of the decision record table per pinned
// component, by name (bytewise): "component NAME" and its digest.
func (r *RecordSummary) componentRows(t render.Table) {
	for _, n := range slices.Sorted(maps.Keys(r.Components)) {
		t.Row("component "+render.Markdown(n), render.MarkdownCode(r.Components[n]))
	}
}
