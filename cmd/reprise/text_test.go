package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/fixtures/textgen/textgentest"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/verdict"
)

// textImage builds the fixture text system's image once per test binary.
func textImage(t *testing.T) string {
	t.Helper()
	cli, _ := fixtureImage(t) // the engine, and the leftover check
	return textBuild.id(t, cli)
}

var textParams = []string{"--protocol", "openai", "--seed", "42", "--temperature", "0.9", "--top-p", "0.95", "--max-tokens", "24"}

func textRecord(t *testing.T, st, img, version, reqID string, extra ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), reqID+".json")
	args := append([]string{"--store", st, "record", "create", "--image", img, "--input", fx("inputs", "chat-demo.json"),
		"--model", fx("models", "text-story-"+version+".txt"), "--model-version", version,
		"--config", fx("configs", "text-params-1.json"), "--request-id", reqID, "-o", out}, textParams...)
	if r := cli(t, "", append(args, extra...)...); r.code != 0 {
		t.Fatalf("record create: exit %d: %s", r.code, r.err)
	}
	return out
}

func readReport(t *testing.T, dir string) replay.Report {
	t.Helper()
	var rep replay.Report
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("report.json: %v", err)
	}
	return rep
}

// TestReplayTextOverOpenAI: a chat decision captured over the OpenAI API
// replays REPRODUCED (exact); the other model version's text, stored in a
// record that pins this one, replays DIVERGED with the text checks.
func TestReplayTextOverOpenAI(t *testing.T) {
	img := textImage(t)
	st := filepath.Join(t.TempDir(), "store")
	good := textRecord(t, st, img, "1.0", "req_text_good", "--capture")
	out := filepath.Join(t.TempDir(), "good")
	if r := cli(t, "", "--store", st, "replay", good, "-n", "60", "--output", out); r.code != 0 {
		t.Fatalf("replay: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	rep := readReport(t, out)
	if rep.Verdict != verdict.Reproduced || rep.Basis != "exact" || rep.Runner.URL == "" || len(rep.Runner.Fingerprints) != 1 {
		t.Fatalf("report: %s %s runner %+v", rep.Verdict, rep.Basis, rep.Runner)
	}
	other := readRecord(t, textRecord(t, st, img, "1.1", "req_text_11", "--capture"))
	text := other["output"].(map[string]any)["text"].(string)
	bad := textRecord(t, st, img, "1.0", "req_text_bad", "--text", text)
	out = filepath.Join(t.TempDir(), "bad")
	r := cli(t, "", "--store", st, "replay", bad, "-n", "200", "--output", out)
	if r.code != 1 || !strings.Contains(r.out, "DIVERGED") {
		t.Fatalf("diverged replay: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	rep = readReport(t, out)
	if rep.Exact == nil || rep.Exact.Divergence == nil || rep.TypicalText == nil {
		t.Errorf("report lacks the text details: %+v", rep.Exact)
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	for _, s := range []string{"text\\_conformal", "| pinned-seed replay |", "first diverges at character"} {
		if !strings.Contains(string(md), s) {
			t.Errorf("report.md lacks %q", s)
		}
	}
}

// textServer serves the fixture text model of version over the OpenAI API
// in this process, until the test ends.
func textServer(t *testing.T, version string) *httptest.Server {
	t.Helper()
	return textgentest.Server(t, version)
}

// TestReplayEndpoint replays against a running server: the report says
// the environment was not pinned and what the server said about itself.
func TestReplayEndpoint(t *testing.T) {
	srv := textServer(t, "1.0")
	const img = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	st := filepath.Join(t.TempDir(), "store")
	rec := textRecord(t, st, img, "1.0", "req_endpoint", "--text", "the officer smiled .")
	out := filepath.Join(t.TempDir(), "out")
	r := cli(t, "", "--store", st, "replay", rec, "-n", "30", "--runner", "endpoint", "--url", srv.URL, "--output", out)
	if r.code == 2 || r.code >= 4 {
		t.Fatalf("replay: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	rep := readReport(t, out)
	if rep.Runner.Runner != "endpoint" || rep.Environment.Pinned || !strings.Contains(rep.Runner.Server, "text-story-1.0") {
		t.Errorf("runner %+v pinned %v", rep.Runner, rep.Environment.Pinned)
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(md), "environment pinned: false") || !strings.Contains(string(md), "already running at") {
		t.Errorf("report.md:\n%s", md)
	}
	if r := cli(t, "", "--store", st, "replay", rec, "--runner", "endpoint"); r.code != 2 || !strings.Contains(r.err, "--url") {
		t.Errorf("no --url: exit %d %s", r.code, r.err)
	}
}

// TestReplayKServe captures a decision of the loan approver over kserve-v2
// (the record pins the model name and the server's switch) and replays it.
func TestReplayKServe(t *testing.T) {
	_, img := fixtureImage(t)
	st := filepath.Join(t.TempDir(), "store")
	rec := filepath.Join(t.TempDir(), "kserve.json")
	r := cli(t, "", "--store", st, "record", "create", "--capture", "--protocol", "kserve-v2", "--http-model-name", "loan-approver",
		"--env", "REPRISE_FIXTURE_KSERVE_ADDR=:8080", "--image", img, "--input", fx("inputs", "application-demo-kserve.json"),
		"--model", fx("models", "loan-approver-2.4.1.safetensors"), "--config", fx("configs", "loan-params-3.json"),
		"--seed", "42", "--request-id", "req_kserve", "-o", rec)
	if r.code != 0 {
		t.Fatalf("capture: exit %d: %s", r.code, r.err)
	}
	m := readRecord(t, rec)
	if h := m["runtime"].(map[string]any)["http"].(map[string]any); h["model_name"] != "loan-approver" {
		t.Errorf("runtime.http = %v", h)
	}
	out := filepath.Join(t.TempDir(), "out")
	if r := cli(t, "", "--store", st, "replay", rec, "-n", "50", "--output", out); r.code != 0 {
		t.Fatalf("replay: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	if rep := readReport(t, out); rep.Verdict != verdict.Reproduced || rep.Basis != "exact" {
		t.Errorf("verdict %s %s", rep.Verdict, rep.Basis)
	}
	if r := cli(t, "", "--store", st, "record", "create", "--http-port", "9000", "--image", img, "--input", fx("inputs", "application-demo.json"),
		"--model", fx("models", "loan-approver-2.4.1.safetensors"), "--config", fx("configs", "loan-params-3.json"), "--label", "approved"); r.code != 2 {
		t.Errorf("--http-port with jsonl-stdio: exit %d %s", r.code, r.err)
	}
}

// TestReplayEndpointLogprobsConcurrency: a record that asks for token
// logprobs (runtime.http.logprobs, top_logprobs) keeps them per run in
// runs.parquet (their tokens spell the run's text); with --concurrency 4
// the runs are those of one request at a time (same seeds, same texts), and
// the report states the concurrency.
func TestReplayEndpointLogprobsConcurrency(t *testing.T) {
	srv := textServer(t, "1.0")
	const img = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	st := filepath.Join(t.TempDir(), "store")
	path := textRecord(t, st, img, "1.0", "req_logprobs", "--text", "the officer smiled .", "--http-logprobs", "--http-top-logprobs", "2")
	if h := readRecord(t, path)["runtime"].(map[string]any)["http"].(map[string]any); h["logprobs"] != true || h["top_logprobs"] != 2.0 {
		t.Fatalf("runtime.http = %v", h)
	}
	if r := cli(t, "", "--store", st, "record", "create", "--image", img, "--input", fx("inputs", "chat-demo.json"), "--protocol", "openai",
		"--model", fx("models", "text-story-1.0.txt"), "--config", fx("configs", "text-params-1.json"), "--text", "x", "--http-top-logprobs", "2"); r.code != 2 || !strings.Contains(r.err, "top_logprobs") {
		t.Errorf("--http-top-logprobs without --http-logprobs: exit %d %s", r.code, r.err)
	}
	texts := map[int64]string{}
	for _, c := range []string{"1", "4"} {
		out := filepath.Join(t.TempDir(), "out"+c)
		r := cli(t, "", "--store", st, "replay", path, "-n", "30", "--runner", "endpoint", "--url", srv.URL, "--concurrency", c, "--output", out)
		if r.code == 2 || r.code >= 4 {
			t.Fatalf("--concurrency %s: exit %d\n%s\n%s", c, r.code, r.out, r.err)
		}
		if rep := readReport(t, out); rep.Runner.Concurrency != int(c[0]-'0') {
			t.Fatalf("report concurrency %d, want %s", rep.Runner.Concurrency, c)
		}
		if md, _ := os.ReadFile(filepath.Join(out, "report.md")); !strings.Contains(string(md), "concurrency: "+c+" HTTP requests at once") {
			t.Fatalf("report.md does not state the concurrency:\n%s", md)
		}
		runs, err := replay.ReadRuns(filepath.Join(out, "runs.parquet"))
		// The pinned seed's text is not the stored one, so the seed probe
		// runs it twice more (runs 0 to 2, kind "pinned"), then 30 fresh
		// seeds.
		if err != nil || len(runs) != 33 || runs[0].Kind != "pinned" || runs[1].Kind != "pinned" || runs[2].Kind != "pinned" || runs[3].Kind != "replay" {
			t.Fatalf("runs.parquet: %v, %d rows, want 3 pinned and 30 replay rows", err, len(runs))
		}
		for _, run := range runs {
			if run.Logprobs == nil || run.Text == nil {
				t.Fatalf("run %d: no logprobs or text: %+v", run.Index, run)
			}
			var lp struct {
				Content []struct {
					Token       string
					TopLogprobs []json.RawMessage `json:"top_logprobs"`
				}
			}
			if err := json.Unmarshal([]byte(*run.Logprobs), &lp); err != nil {
				t.Fatal(err)
			}
			var spelled string
			for _, tok := range lp.Content {
				spelled += tok.Token
				if len(tok.TopLogprobs) == 0 || len(tok.TopLogprobs) > 2 {
					t.Fatalf("run %d: %d alternatives", run.Index, len(tok.TopLogprobs))
				}
			}
			if spelled != *run.Text {
				t.Fatalf("run %d: tokens %q, text %q", run.Index, spelled, *run.Text)
			}
			if prev, ok := texts[run.Seed]; ok && prev != *run.Text {
				t.Fatalf("seed %d: %q at concurrency 1, %q at 4", run.Seed, prev, *run.Text)
			}
			texts[run.Seed] = *run.Text
		}
	}
}
