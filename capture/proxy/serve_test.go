package proxy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/store"
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

func TestServeOptionsOpenNamesTheFlag(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-folder")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o := ServeOptions{System: "sys.json", Upstream: "http://127.0.0.1:8000", Log: file, Listen: "127.0.0.1:0", Input: "full", OnFull: "drop",
		Queue: 1, SegmentRows: 1, SegmentAge: time.Second, UpstreamTimeout: time.Second, DrainTimeout: time.Second, MaxBody: 1}
	c, wo, err := o.Config()
	if err != nil {
		t.Fatal(err)
	}
	var fe *FlagError
	if _, _, _, err := o.Open(c, wo, memBlobs{store.NewMem()}); !errors.As(err, &fe) || fe.Flag != "--log" {
		t.Errorf("Open(--log naming a file) = %v; want a *FlagError naming --log", err)
	}
}

// memBlobs is an in-memory store as the writer's Blobs (nothing to commit).
type memBlobs struct{ *store.Mem }

func (memBlobs) Commit(context.Context) error { return nil }
