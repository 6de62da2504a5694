package runners

import "testing"

// TestRedactURL: a URL's password never shows (issue 19, item 3).
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://alice:s3cret@gpu-7:8000/v1":  "http://alice:***@gpu-7:8000/v1",
		"http://al%40ice:s3%2Fc@gpu-7":       "http://al%40ice:***@gpu-7",
		"http://alice@gpu-7":                 "http://alice@gpu-7",
		"http://gpu-7:8000":                  "http://gpu-7:8000",
		"http://alice:s3c/ret@gpu-7":         "http://***@gpu-7",
		"http://alice:s3cret@gpu-7:x":        "http://***@gpu-7:x",
		"http://alice:s3c ret@gpu-7\x7f":     "http://***@gpu-7\x7f",
		"https://:s3cret@gpu-7/a@b":          "https://:***@gpu-7/a@b",
		"http://10.0.0.2:8000/prefix/@odd/x": "http://10.0.0.2:8000/prefix/@odd/x",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
