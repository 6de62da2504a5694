package openai

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/runners"
)

func TestNotReady(t *testing.T) {
	c, _ := New(runners.HTTPConfig{})
	for _, tc := range []struct {
		status int
		body   string
		want   bool
	}{
		{503, "loading", true},
		{404, `{"error":{"message":"model \"tiny\" not found, try pulling it first","type":"api_error"}}`, true},
		{404, `{"error":"model 'tiny' not found"}`, true},
		{404, `404 page not found`, false}, // a wrong path is not a model that loads
		{404, `{"error":{"message":"no such route"}}`, false},
		{400, `{"error":{"message":"model \"tiny\" not found"}}`, false},
		{500, "model not found", false},
		{200, `{"choices":[]}`, false},
	} {
		if got := c.NotReady(tc.status, []byte(tc.body)); got != tc.want {
			t.Errorf("NotReady(%d, %s) = %v, want %v", tc.status, tc.body, got, tc.want)
		}
	}
}

// TestProbeModelList: an empty (or null) model list is not ready when the
// record names no model; a list with the record's model, its ":latest"
// tag included, is.
func TestProbeModelList(t *testing.T) {
	for _, tc := range []struct {
		name, list string
		want       bool
	}{
		{"", `{"object":"list","data":[]}`, false},
		{"", `{"object":"list","data":null}`, false},
		{"", `{"object":"list","data":[{"id":"any"}]}`, true},
		{"tiny", `{"object":"list","data":[{"id":"tiny:latest"}]}`, true},
		{"tiny:latest", `{"object":"list","data":[{"id":"tiny"}]}`, true},
		{"tiny", `{"object":"list","data":[{"id":"tiny2:latest"}]}`, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == ModelsPath {
				fmt.Fprint(w, tc.list)
				return
			}
			http.NotFound(w, r)
		}))
		c, _ := New(runners.HTTPConfig{ModelName: tc.name})
		ready, why := c.Probe(context.Background(), srv.Client(), srv.URL)
		if ready != tc.want || (!ready && why == "") {
			t.Errorf("model %q, list %s: ready %v (%s), want %v", tc.name, tc.list, ready, why, tc.want)
		}
		srv.Close()
	}
}

// TestModelDigest: a digest of the model's /v1/models entry comes first,
// then Ollama's /api/tags; a digest that is not printable ASCII is dropped.
func TestModelDigest(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		models, tags, want, from string
	}{
		{`{"data":[{"id":"tiny","digest":"sha256:` + hex + `"}]}`, ``, "sha256:" + hex, "GET /v1/models"},
		{`{"data":[{"id":"tiny:latest"}]}`, `{"models":[{"name":"other:latest","digest":"00"},{"name":"tiny:latest","model":"tiny:latest","digest":"` + hex + `"}]}`, hex, "GET /api/tags"},
		{`{"data":[{"id":"tiny"}]}`, ``, "", ""},
		{`{"data":[{"id":"tiny","digest":"bad digest"}]}`, ``, "", ""},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == ModelsPath:
				fmt.Fprint(w, tc.models)
			case r.URL.Path == OllamaTagsPath && tc.tags != "":
				fmt.Fprint(w, tc.tags)
			default:
				http.NotFound(w, r)
			}
		}))
		c, _ := New(runners.HTTPConfig{ModelName: "tiny"})
		d, from := c.ModelDigest(context.Background(), srv.Client(), srv.URL, "")
		if d != tc.want || from != tc.from {
			t.Errorf("%s / %s: %q from %q, want %q from %q", tc.models, tc.tags, d, from, tc.want, tc.from)
		}
		srv.Close()
	}
}
