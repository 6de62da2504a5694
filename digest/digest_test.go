package digest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	good := "sha256:" + strings.Repeat("ab", 32)
	cases := []struct {
		in string
		ok bool
	}{
		{good, true},
		{"sha256:" + strings.Repeat("0", 64), true},
		{"", false},
		{"sha256:", false},
		{"sha256:" + strings.Repeat("AB", 32), false}, // uppercase
		{"sha512:" + strings.Repeat("ab", 32), false},
		{"sha256:" + strings.Repeat("ab", 31), false},
		{"sha256:" + strings.Repeat("ab", 33), false},
		{strings.Repeat("ab", 32), false},
		{"sha256:" + strings.Repeat("g", 64), false},
		{" sha256:" + strings.Repeat("ab", 32), false},
	}
	for _, c := range cases {
		d, err := Parse(c.in)
		if c.ok != (err == nil) {
			t.Errorf("Parse(%q) err = %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) err = %v, does not wrap ErrInvalid", c.in, err)
		}
		if c.ok && d.String() != c.in {
			t.Errorf("Parse(%q).String() = %q", c.in, d.String())
		}
	}
}

func TestFromBytesKnownValue(t *testing.T) {
	// printf 'abc' | sha256sum
	want := "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := FromBytes([]byte("abc")).String(); got != want {
		t.Fatalf("FromBytes(abc) = %s, want %s", got, want)
	}
	d, n, err := FromReader(strings.NewReader("abc"))
	if err != nil || n != 3 || d.String() != want {
		t.Fatalf("FromReader = %s %d %v", d, n, err)
	}
}

func TestJSON(t *testing.T) {
	d := FromBytes([]byte("x"))
	b, err := json.Marshal(struct{ D Digest }{d})
	if err != nil {
		t.Fatal(err)
	}
	var back struct{ D Digest }
	if err := json.Unmarshal(b, &back); err != nil || back.D != d {
		t.Fatalf("round trip: %v %v", back.D, err)
	}
	if err := json.Unmarshal([]byte(`{"D":"sha256:xyz"}`), &back); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad digest accepted: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"D":5}`), &back); err == nil {
		t.Fatal("number accepted as digest")
	}
	if (Digest{}).Validate() == nil {
		t.Fatal("zero digest validates")
	}
}
