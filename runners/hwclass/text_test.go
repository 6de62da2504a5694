package hwclass

import (
	"bytes"
	"strings"
	"testing"
)

func TestSnapshotWriteText(t *testing.T) {
	var b bytes.Buffer
	Snapshot{HardwareClass: "cpu/x86_64", OS: "linux", CPUModel: "Xeon", CPUs: 2}.WriteText(&b)
	for _, want := range []string{"hardware_class: cpu/x86_64\n", "os:             linux\n", "cpu:            Xeon (2 cpus)\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("WriteText() =\n%s\nwant a line %q", b.String(), want)
		}
	}
}
