package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/reprise-dev/reprise/runners"
)

// OllamaTagsPath lists an Ollama server's models with their digests.
const OllamaTagsPath = "/api/tags"

// Probe is the readiness of an OpenAI-compatible server (runners.ReadyProber).
// Many answer GET /v1/models with 200 before their model is loaded, or
// even registered (Ollama answers {"data": []} until its entrypoint has
// created the model), so a 200 there is not enough: the server is ready
// when GET /health answers 200 (vLLM, TGI, llama.cpp server; 503 while the
// model loads) or has no such path (404, 405 or 501: Ollama-style servers),
// and GET /v1/models answers 200 with a list that holds the served model:
// the record's model name on the wire (runtime.http.model_name; Ollama's
// default tag ":latest" may follow it), or, when the record names none, any
// model at all (an empty list serves nothing). An answer 503, or 404
// "model … not found", to run 0 is still "not ready": the session retries
// it within the start timeout (NotReady, httpsess).
func (c *Codec) Probe(ctx context.Context, hc *http.Client, base string) (bool, string) {
	status, body, err := get(ctx, hc, base+HealthPath, 256)
	switch {
	case err != nil:
		return false, "GET " + HealthPath + ": " + err.Error()
	case status == http.StatusOK, status == http.StatusNotFound, status == http.StatusMethodNotAllowed, status == http.StatusNotImplemented:
	default:
		return false, fmt.Sprintf("GET %s answered %d %s: %s", HealthPath, status, http.StatusText(status), runners.Quote(body))
	}
	status, body, err = get(ctx, hc, base+ModelsPath, 1<<20)
	switch {
	case err != nil:
		return false, "GET " + ModelsPath + ": " + err.Error()
	case status != http.StatusOK:
		return false, fmt.Sprintf("GET %s answered %d %s: %s", ModelsPath, status, http.StatusText(status), runners.Quote(body))
	}
	list, err := modelList(body)
	if err != nil {
		return false, fmt.Sprintf("GET %s: not a model list: %s", ModelsPath, runners.Quote(body))
	}
	if c.cfg.ModelName == "" {
		if len(list) == 0 {
			return false, fmt.Sprintf("GET %s answered 200 with no model (the server serves nothing yet): %s", ModelsPath, runners.Quote(body))
		}
		return true, ""
	}
	ids := make([]string, 0, len(list))
	for _, m := range list {
		if SameModel(m.ID, c.cfg.ModelName) {
			return true, ""
		}
		ids = append(ids, strconv.Quote(m.ID))
	}
	if len(ids) > 10 {
		ids = append(ids[:10], "…")
	}
	return false, fmt.Sprintf("GET %s does not list the record's model %q (runtime.http.model_name); it lists [%s]", ModelsPath, c.cfg.ModelName, strings.Join(ids, ", "))
}

// modelEntry is one model of GET /v1/models; Digest is read where a
// server gives one (not in the OpenAI API).
type modelEntry struct {
	ID     string `json:"id"`
	Digest string `json:"digest"`
}

func modelList(body []byte) ([]modelEntry, error) {
	var list struct {
		Data []modelEntry `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, err
	}
	return list.Data, nil
}

// SameModel says whether a served model's id names the model asked for:
// equal, or equal but for Ollama's default tag (":latest" on one side).
func SameModel(id, name string) bool {
	return id == name || id == name+":latest" || id+":latest" == name
}

// NotReady says whether an answer to a run before the server's first 2xx
// means "not ready yet" rather than a run error (httpsess retries it
// within the start timeout): 503 Service Unavailable (a model still
// loading), or 404 whose error says a model is not found (a lazily
// loaded or not yet registered model: Ollama answers
// {"error": {"message": "model \"x\" not found, try pulling it first"}}).
func (*Codec) NotReady(status int, body []byte) bool {
	switch status {
	case http.StatusServiceUnavailable:
		return true
	case http.StatusNotFound:
		msg := strings.ToLower(string(body))
		if w, err := parse(body); err == nil && len(w.Error) > 0 {
			var e struct {
				Message string `json:"message"`
			}
			if json.Unmarshal(w.Error, &e) == nil && e.Message != "" {
				msg = strings.ToLower(e.Message)
			}
		}
		return strings.Contains(msg, "model") && strings.Contains(msg, "not found")
	}
	return false
}

// ModelDigest asks the server for the digest of the model it serves as
// model (the name its answers carry; the record's runtime.http.model_name
// when they carry none): a "digest" of the model's GET /v1/models entry,
// else the "digest" of its GET /api/tags entry (Ollama). from names the
// path that gave it; "" and "" when the server offers none. The OpenAI API
// has no model digest, and system_fingerprint (Ollama: the constant
// "fp_ollama") does not identify a model: this is what does, where a
// server has it.
func (c *Codec) ModelDigest(ctx context.Context, hc *http.Client, base, model string) (dig, from string) {
	if model == "" {
		model = c.cfg.ModelName
	}
	if model == "" {
		return "", ""
	}
	if status, body, err := get(ctx, hc, base+ModelsPath, 1<<20); err == nil && status == http.StatusOK {
		list, _ := modelList(body)
		for _, m := range list {
			if d := clean(m.Digest); SameModel(m.ID, model) && d != "" {
				return d, "GET " + ModelsPath
			}
		}
	}
	status, body, err := get(ctx, hc, base+OllamaTagsPath, 1<<20)
	if err != nil || status != http.StatusOK {
		return "", ""
	}
	var tags struct {
		Models []struct {
			Name   string `json:"name"`
			Model  string `json:"model"`
			Digest string `json:"digest"`
		} `json:"models"`
	}
	if json.Unmarshal(body, &tags) != nil {
		return "", ""
	}
	for _, m := range tags.Models {
		if d := clean(m.Digest); (SameModel(m.Name, model) || SameModel(m.Model, model)) && d != "" {
			return d, "GET " + OllamaTagsPath
		}
	}
	return "", ""
}

// clean bounds a digest a server gave to 200 printable ASCII bytes without
// spaces (it goes into records and reports); anything else is dropped.
func clean(d string) string {
	d = string(bytes.TrimSpace([]byte(d)))
	if len(d) == 0 || len(d) > 200 {
		return ""
	}
	for i := range len(d) {
		if d[i] <= ' ' || d[i] > '~' {
			return ""
		}
	}
	return d
}
