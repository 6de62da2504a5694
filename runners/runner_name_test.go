package runners

import "testing"

// TestComponentEnv: a component's variable is its name upper-cased with
// every other character as "_".
func TestComponentEnv(t *testing.T) {
	for in, want := range map[string]string{
		"index": "REPRISE_COMPONENT_INDEX", "prompt-template": "REPRISE_COMPONENT_PROMPT_TEMPLATE",
		"emb.v2": "REPRISE_COMPONENT_EMB_V2", "Tools_1": "REPRISE_COMPONENT_TOOLS_1", "é": "REPRISE_COMPONENT___",
	} {
		if got := ComponentEnv(in); got != want {
			t.Errorf("ComponentEnv(%q) = %q, want %q", in, got, want)
		}
	}
}
