package system

import "testing"

func TestSizeFlag(t *testing.T) {
	var b Size
	if err := b.Set("64m"); err != nil || b != 64<<20 || b.String() != FormatBytes(64<<20) || b.Type() != "size" {
		t.Errorf("Set(64m) = %v; b = %d (%s)", err, b, b.String())
	}
	if err := b.Set("lots"); err == nil {
		t.Error(`Set("lots") accepted`)
	}
}
