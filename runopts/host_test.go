package runopts

import (
	"bytes"
	"strings"
	"testing"
)

func TestHostWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := (Host{DockerError: "no engine"}).WriteText(&b); err != nil || !strings.HasSuffix(b.String(), "docker:         unavailable (no engine)\n") {
		t.Errorf("WriteText = %q, %v", b.String(), err)
	}
	b.Reset()
	if err := (Host{Docker: "docker 27.0 (API 1.46)"}).WriteText(&b); err != nil || !strings.HasSuffix(b.String(), "docker:         docker 27.0 (API 1.46)\n") {
		t.Errorf("WriteText = %q, %v", b.String(), err)
	}
}
