package proxy

import (
	"strings"
	"testing"
	"time"
)

func TestServeOptionsConfig(t *testing.T) {
	ok := ServeOptions{System: "sys.json", Upstream: "http://127.0.0.1:8000", Log: "log", Input: "hash-only", OnFull: "block",
		Queue: 1, SegmentRows: 1, SegmentAge: time.Second, UpstreamTimeout: time.Second, DrainTimeout: time.Second, MaxBody: 1}
	c, wo, err := ok.Config()
	if err != nil || c.Input != InputHashOnly || wo.OnFull != Block || c.Upstream.Host != "127.0.0.1:8000" {
		t.Fatalf("Config() = %+v, %+v, %v", c, wo, err)
	}
	for name, tc := range map[string]struct {
		edit func(*ServeOptions)
		msg  string
	}{
		"no system":   {func(o *ServeOptions) { o.System = "" }, "--system is required"},
		"no log":      {func(o *ServeOptions) { o.Log = "" }, "--log is required"},
		"queue":       {func(o *ServeOptions) { o.Queue = 0 }, "must be positive"},
		"upstream":    {func(o *ServeOptions) { o.Upstream = "ftp://x" }, "--upstream: want http(s)://HOST[:PORT]"},
		"input":       {func(o *ServeOptions) { o.Input = "some" }, `--input: want full or hash-only, got "some"`},
		"on full":     {func(o *ServeOptions) { o.OnFull = "wait" }, `--on-full: want drop or block, got "wait"`},
		"sample rate": {func(o *ServeOptions) { o.SampleRates = []string{"2"} }, ""},
	} {
		t.Run(name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			_, _, err := o.Config()
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Config() = %v; want an error saying %q", err, tc.msg)
			}
		})
	}
}
