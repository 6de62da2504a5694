package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/reprise-dev/reprise/fixtures/dockertest"
	"github.com/reprise-dev/reprise/fixtures/gobuild"
	"github.com/reprise-dev/reprise/fixtures/image"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/docker"
	"github.com/reprise-dev/reprise/runners/hwclass"
	"github.com/reprise-dev/reprise/verdict"
)

// TestMain lets the test binary act as the reprise binary (for signal tests).
func TestMain(m *testing.M) {
	if os.Getenv("REPRISE_TEST_AS_CLI") == "1" {
		code := run()
		writeHWM()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// fixtureBuild builds one fixture system's image once per test binary.
type fixtureBuild struct {
	name string // in the failure: "build <name> image"
	opts image.Options
	once sync.Once
	res  image.Result
	err  error
}

// id builds the image with cli the first time and returns its ID; a failed
// build fails t (every time).
func (b *fixtureBuild) id(t *testing.T, cli *client.Client) string {
	t.Helper()
	b.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		b.res, b.err = image.Build(ctx, cli, b.opts)
	})
	if b.err != nil {
		t.Fatalf("build %s image: %v", b.name, b.err)
	}
	return b.res.ID
}

var (
	loanBuild = &fixtureBuild{name: "fixture"}
	ragBuild  = &fixtureBuild{name: "RAG fixture", opts: image.Options{Server: image.ServerRAG}}
	textBuild = &fixtureBuild{name: "text fixture", opts: image.Options{Server: image.ServerText}}
)

func fixtureImage(t *testing.T) (*client.Client, string) {
	t.Helper()
	cli := dockertest.Require(t)
	id := loanBuild.id(t, cli)
	t.Cleanup(func() {
		ids, err := docker.OwnedBy(context.Background(), cli, os.Getpid())
		if err != nil {
			t.Error(err)
		}
		if len(ids) > 0 {
			t.Errorf("containers with the reprise label left: %v", ids)
			for _, id := range ids {
				docker.Remove(context.Background(), cli, id)
			}
		}
	})
	return cli, id
}

func repoRoot() string { return filepath.Join("..", "..") }

func fx(parts ...string) string {
	return filepath.Join(append([]string{repoRoot(), "fixtures"}, parts...)...)
}

// capture makes a record of the fixture system through the CLI.
func captureRec(t *testing.T, st, img, model, reqID string, extra ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), reqID+".json")
	args := append([]string{"--store", st, "record", "create", "--capture", "--image", img,
		"--input", fx("inputs", "application-demo.json"), "--model", fx("models", "loan-approver-"+model+".safetensors"),
		"--config", fx("configs", "loan-params-3.json"), "--seed", "42", "--request-id", reqID, "-o", out}, extra...)
	if r := cli(t, "", args...); r.code != 0 {
		t.Fatalf("capture: exit %d: %s", r.code, r.err)
	}
	return out
}

func readRecord(t *testing.T, path string) map[string]any {
	var m map[string]any
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return m
}

func TestReplayReproducedAndDiverged(t *testing.T) {
	_, img := fixtureImage(t)
	st := filepath.Join(t.TempDir(), "store")
	good := captureRec(t, st, img, "2.4.1", "req_good")
	outDir := filepath.Join(t.TempDir(), "out")
	r := cli(t, "", "--store", st, "replay", good, "-n", "300", "--output", outDir, "--format", "json")
	if r.code != 0 {
		t.Fatalf("replay: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	var rep replay.Report
	b, _ := os.ReadFile(filepath.Join(outDir, "report.json"))
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != verdict.Reproduced || rep.Exact == nil || !rep.Exact.ExactMatch || rep.Runner.Runner != "docker" || rep.Runner.ImageID != img {
		t.Fatalf("report: verdict %s exact %+v runner %+v", rep.Verdict, rep.Exact, rep.Runner)
	}
	if _, err := os.Stat(filepath.Join(outDir, "runs.journal.jsonl")); err == nil {
		t.Error("the run journal is left after a completed replay")
	}
	runs, err := replay.ReadRuns(filepath.Join(outDir, "runs.parquet"))
	if err != nil || len(runs) != 301 || runs[0].Kind != "pinned" || runs[0].Seed != 42 {
		t.Fatalf("runs.parquet: %v, %d rows", err, len(runs))
	}
	// Repeatable: the same replay seed gives the same runs.
	out2 := filepath.Join(t.TempDir(), "out2")
	if r := cli(t, "", "--store", st, "replay", good, "-n", "300", "--output", out2); r.code != 0 {
		t.Fatal(r.err)
	}
	runs2, _ := replay.ReadRuns(filepath.Join(out2, "runs.parquet"))
	for i := range runs {
		if runs[i].Seed != runs2[i].Seed || runs[i].OutputDigest != runs2[i].OutputDigest {
			t.Fatalf("run %d differs between two replays", i)
		}
	}

	// A decision stored by 2.4.2 in a record that pins 2.4.1 diverges.
	by242 := readRecord(t, captureRec(t, st, img, "2.4.2", "req_242"))
	out := by242["output"].(map[string]any)
	bad := filepath.Join(t.TempDir(), "bad.json")
	if r := cli(t, "", "--store", st, "record", "create", "--image", img, "--input", fx("inputs", "application-demo.json"),
		"--model", fx("models", "loan-approver-2.4.1.safetensors"), "--config", fx("configs", "loan-params-3.json"),
		"--seed", "42", "--label", out["label"].(string), "--score", jsonNum(out["score"]), "--request-id", "req_bad", "-o", bad); r.code != 0 {
		t.Fatal(r.err)
	}
	// Sequential (the default without -n): it stops once the verdict is settled.
	r = cli(t, "", "--store", st, "replay", bad, "--output", filepath.Join(t.TempDir(), "o3"))
	if r.code != 1 || !strings.Contains(r.out, "DIVERGED") {
		t.Fatalf("diverged replay: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	// Too few runs to tell: at 100 runs no check has the power to reject at alpha 0.01.
	r = cli(t, "", "--store", st, "replay", bad, "-n", "100", "--output", filepath.Join(t.TempDir(), "o5"))
	if r.code != 3 || !strings.Contains(r.out, "INCONCLUSIVE") {
		t.Fatalf("inconclusive replay: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	// Both at once: the worst verdict decides the exit code.
	r = cli(t, "", "--store", st, "replay", good, bad, "--output", filepath.Join(t.TempDir(), "o4"))
	if r.code != 1 || !strings.Contains(r.out, "REPRODUCED") || !strings.Contains(r.out, "DIVERGED") {
		t.Fatalf("batch: exit %d\n%s", r.code, r.out)
	}
}

func jsonNum(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestReplayNoisyKernelsReproduceBehaviorally(t *testing.T) {
	_, img := fixtureImage(t)
	st := filepath.Join(t.TempDir(), "store")
	// Every source of randomness is pinned (the noise streams of capture and
	// replay, which differ, and the replay seed), so the outcome is fixed:
	// a test must not hang on one draw of a check calibrated to reject 5%.
	rec := captureRec(t, st, img, "2.4.1", "req_noisy", "--env", "REPRISE_FIXTURE_NOISE=1e-9", "--env", "REPRISE_FIXTURE_NOISE_SEED=1")
	outDir := filepath.Join(t.TempDir(), "out")
	m := readRecord(t, rec)["runtime"].(map[string]any)
	if ev, _ := m["env_vars"].(map[string]any); ev["REPRISE_FIXTURE_NOISE"] != "1e-9" || ev["REPRISE_FIXTURE_NOISE_SEED"] != "1" {
		t.Fatalf("capture did not record its --env: %v", m)
	}
	if lim, _ := m["limits"].(map[string]any); lim["pids"] != 4096.0 || lim["memory_bytes"] != float64(2<<30) || lim["nano_cpus"] != 1e9 {
		t.Fatalf("capture did not record its limits: %v", m)
	}
	// Sequential: the checks need 528 runs and 399 scores to have the power
	// to reject at alpha 0.01, so no fixed -n 200 can reproduce behaviorally.
	r := cli(t, "", "--store", st, "replay", rec, "--replay-seed", "7", "--output", outDir,
		"--env", "REPRISE_FIXTURE_NOISE=1e-9", "--env", "REPRISE_FIXTURE_NOISE_SEED=2")
	if r.code != 0 || !strings.Contains(r.out, "REPRODUCED (behavioral)") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
}

// TestReplayUmask077: under a strict umask the sandbox user (65534) can
// still read the copies of the model and config (issue 8, item 8), and no
// session folder is left behind.
func TestReplayUmask077(t *testing.T) {
	_, img := fixtureImage(t)
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	st := filepath.Join(t.TempDir(), "store")
	rec := captureRec(t, st, img, "2.4.1", "req_umask")
	r := cli(t, "", "--store", st, "replay", rec, "-n", "20", "--output", filepath.Join(t.TempDir(), "o"))
	if r.code != 0 || !strings.Contains(r.out, "REPRODUCED") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "reprise-session-*")); len(left) > 0 {
		t.Fatalf("session folders left: %v", left)
	}
}

func TestReplayIntegrityFailsBeforeAnythingRuns(t *testing.T) {
	_, img := fixtureImage(t)
	st := filepath.Join(t.TempDir(), "store")
	rec := captureRec(t, st, img, "2.4.1", "req_tamper")
	d := readRecord(t, rec)["input"].(map[string]any)["digest"].(string)
	p := filepath.Join(st, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
	os.Chmod(p, 0o644)
	os.WriteFile(p, []byte(`{"income": 1000}`), 0o644)
	// An unreachable engine: had the replay touched it, the exit would be 5.
	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
	r := cli(t, "", "--store", st, "replay", rec, "-n", "10", "--output", filepath.Join(t.TempDir(), "o"))
	if r.code != 4 || !strings.Contains(r.err, "input.digest") {
		t.Fatalf("exit %d, stderr %s", r.code, r.err)
	}
}

func TestReplayEnvironmentFailures(t *testing.T) {
	_, img := fixtureImage(t)
	st := filepath.Join(t.TempDir(), "store")
	rec := captureRec(t, st, img, "2.4.1", "req_env")
	tmp := t.TempDir()
	cases := []struct {
		name string
		args []string
		msg  string
		rows int // rows of runs.parquet; -1 = no reports
	}{
		{"crash mid-session", []string{"--env", "REPRISE_FIXTURE_CRASH_AFTER=6"}, "run 6: system crashed", 7},
		{"hang", []string{"--env", "REPRISE_FIXTURE_HANG_AFTER=3", "--run-timeout", "1s"}, "run 3: timed out", 4},
		{"garbage", []string{"--env", "REPRISE_FIXTURE_GARBAGE_AFTER=2"}, "run 2: protocol error", 3},
		{"session timeout", []string{"--env", "REPRISE_FIXTURE_HANG_AFTER=3", "--session-timeout", "2s", "--run-timeout", "1m"}, "session timeout", 4},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(tmp, c.name)
			r := cli(t, "", append([]string{"--store", st, "replay", rec, "-n", "50", "--output", out}, c.args...)...)
			if r.code != 5 || !strings.Contains(r.err, c.msg) {
				t.Fatalf("exit %d, stderr %q, want 5 and %q", r.code, r.err, c.msg)
			}
			runs, err := replay.ReadRuns(filepath.Join(out, "runs.parquet"))
			if err != nil || len(runs) != c.rows || runs[len(runs)-1].Error == "" {
				t.Fatalf("partial runs: %v, %d rows (case %d)", err, len(runs), i)
			}
		})
	}
	t.Run("absent image", func(t *testing.T) {
		m := readRecord(t, rec)
		sys := m["system"].(map[string]any)
		sys["image"] = "127.0.0.1:1/reprise/absent@sha256:" + strings.Repeat("ab", 32)
		b, _ := json.Marshal(m)
		p := filepath.Join(tmp, "absent.json")
		os.WriteFile(p, b, 0o644)
		// The system id no longer matches: that is an integrity failure first.
		if r := cli(t, "", "--store", st, "replay", p); r.code != 4 {
			t.Fatalf("exit %d: %s", r.code, r.err)
		}
		p2 := filepath.Join(tmp, "absent2.json")
		if r := cli(t, "", "--store", st, "record", "create", "--image", sys["image"].(string), "--input", fx("inputs", "application-demo.json"),
			"--model", fx("models", "loan-approver-2.4.1.safetensors"), "--config", fx("configs", "loan-params-3.json"),
			"--label", "approved", "-o", p2); r.code != 0 {
			t.Fatal(r.err)
		}
		// No registry is allowed by default: the record does not choose
		// where the engine connects (issue 19, item 6).
		r := cli(t, "", "--store", st, "replay", p2, "--output", filepath.Join(tmp, "refused"))
		want := "registry not allowed: 127.0.0.1:1/reprise/absent@sha256:" + strings.Repeat("ab", 32) + " is not present on this engine, and its registry 127.0.0.1:1 is not allowed: pull only from registries you trust, with --allow-registry 127.0.0.1:1, or load the image into the engine first"
		if r.code != 2 || !strings.Contains(r.err, want) {
			t.Fatalf("registry not allowed: exit %d, stderr %s\nwant 2 and %s", r.code, r.err, want)
		}
		r = cli(t, "", "--store", st, "replay", p2, "--allow-registry", "127.0.0.1:1", "--output", filepath.Join(tmp, "absent"))
		if r.code != 5 || !strings.Contains(r.err, "127.0.0.1:1/reprise/absent") || !strings.Contains(r.err, "image unavailable") {
			t.Fatalf("exit %d, stderr %s", r.code, r.err)
		}
		for _, c := range []struct {
			args []string
			msg  string
		}{
			{[]string{"--allow-registry", "127.0.0.1:2"}, "its registry 127.0.0.1:1 is not allowed"},
			{[]string{"--allow-registry", "http://127.0.0.1:1"}, `--allow-registry "http://127.0.0.1:1": want HOST[:PORT], e.g. registry.example.com or 127.0.0.1:5000`},
			{[]string{"--allow-registry", "127.0.0.1:0"}, `--allow-registry "127.0.0.1:0": port "0": want 1 to 65535`},
			{[]string{"--allow-registry", "127.0.0.1:1", "--offline"}, "--offline never pulls, and --allow-registry 127.0.0.1:1 allows pulls: give one of them"},
		} {
			r := cli(t, "", append([]string{"--store", st, "replay", p2, "--output", filepath.Join(tmp, "bad")}, c.args...)...)
			if r.code != 2 || !strings.Contains(r.err, c.msg) {
				t.Errorf("%v: exit %d, stderr %s, want 2 and %q", c.args, r.code, r.err, c.msg)
			}
		}
		// --offline never pulls: the error says so (issue 8, item 24).
		r = cli(t, "", "--store", st, "replay", p2, "--offline", "--output", filepath.Join(tmp, "offline"))
		if r.code != 5 || !strings.Contains(r.err, "127.0.0.1:1/reprise/absent") || !strings.Contains(r.err, "--offline") {
			t.Fatalf("--offline: exit %d, stderr %s", r.code, r.err)
		}
	})
	t.Run("no engine", func(t *testing.T) {
		t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
		r := cli(t, "", "--store", st, "replay", rec, "--output", filepath.Join(tmp, "noengine"))
		if r.code != 5 || !strings.Contains(r.err, "container engine unavailable") {
			t.Fatalf("exit %d, stderr %s", r.code, r.err)
		}
	})
}

func TestReplayHardwareClass(t *testing.T) {
	_, img := fixtureImage(t)
	st := filepath.Join(t.TempDir(), "store")
	other := "cpu/riscv64/rva22"
	if hwclass.Detect(context.Background()) == other {
		other = "cpu/amd64/x86-64-v1"
	}
	rec := filepath.Join(t.TempDir(), "hw.json")
	if r := cli(t, "", "--store", st, "record", "create", "--image", img, "--input", fx("inputs", "application-demo.json"),
		"--model", fx("models", "loan-approver-2.4.1.safetensors"), "--config", fx("configs", "loan-params-3.json"),
		"--label", "approved", "--hardware-class", other, "--request-id", "req_hw", "-o", rec); r.code != 0 {
		t.Fatal(r.err)
	}
	out := filepath.Join(t.TempDir(), "o")
	r := cli(t, "", "--store", st, "replay", rec, "-n", "50", "--output", out)
	if r.code != 5 || !strings.Contains(r.err, "hardware class mismatch") || !strings.Contains(r.err, other) {
		t.Fatalf("exit %d, stderr %s", r.code, r.err)
	}
	r = cli(t, "", "--store", st, "replay", rec, "--output", out, "--allow-hardware-mismatch")
	if r.code != 0 {
		t.Fatalf("override: exit %d, %s", r.code, r.err)
	}
	var rep replay.Report
	b, _ := os.ReadFile(filepath.Join(out, "report.json"))
	json.Unmarshal(b, &rep)
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !rep.Hardware.Override || rep.Hardware.Match || !strings.Contains(string(md), "hardware class mismatch overridden") {
		t.Fatalf("override not stated: %+v\n%s", rep.Hardware, md)
	}
}

// TestReplayCtrlC interrupts a replay whose system hangs: exit 130 and the
// container removed.
func TestReplayCtrlC(t *testing.T) {
	cli, img := fixtureImage(t)
	st := filepath.Join(t.TempDir(), "store")
	rec := captureRec(t, st, img, "2.4.1", "req_sigint")
	cmd := exec.Command(os.Args[0], "--store", st, "replay", rec, "-n", "50", "--run-timeout", "5m",
		"--env", "REPRISE_FIXTURE_HANG_AFTER=2", "--output", filepath.Join(t.TempDir(), "o"))
	cmd.Env = append(os.Environ(), "REPRISE_TEST_AS_CLI=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the container to exist, then a little for it to hang.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ids, _ := docker.OwnedBy(context.Background(), cli, cmd.Process.Pid)
		if len(ids) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no container appeared; stderr %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("replay did not stop after SIGINT")
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit %d, want 130; stderr %s", code, stderr.String())
	}
	if ids, _ := docker.OwnedBy(context.Background(), cli, cmd.Process.Pid); len(ids) > 0 {
		t.Fatalf("container left after Ctrl-C: %v", ids)
	}
}

func buildLoanserver(t *testing.T) string {
	t.Helper()
	return gobuild.Build(t, "./fixtures/loanserver")
}

func TestReplayProcessRunner(t *testing.T) {
	bin := buildLoanserver(t)
	st := filepath.Join(t.TempDir(), "store")
	img := "sha256:" + strings.Repeat("0", 64) // not used by the process runner
	rec := captureRec(t, st, img, "2.4.1", "req_proc", "--runner", "process", "--entrypoint", bin)
	out := filepath.Join(t.TempDir(), "o")
	r := cli(t, "", "--store", st, "replay", rec, "-n", "100", "--runner", "process", "--entrypoint", bin, "--output", out)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	var rep replay.Report
	b, _ := os.ReadFile(filepath.Join(out, "report.json"))
	json.Unmarshal(b, &rep)
	if rep.Runner.Pinned || rep.Runner.Runner != "process" || !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "not pinned") }) ||
		!slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.HasPrefix(n, "-n 100 is too few for the label check") }) {
		t.Fatalf("report does not say the environment was not pinned, or that -n 100 cannot reject the label: %+v %v", rep.Runner, rep.Notes)
	}
	// The fixture echoes request ids: its fresh seeds were pipelined in the
	// default window, and the reports say so.
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if rep.Runner.Window != runners.DefaultWindow || !rep.Runner.Pipelined || !strings.Contains(string(md), "stdio window: 64 (pipelined: true") {
		t.Fatalf("window %d pipelined %v; report.md:\n%s", rep.Runner.Window, rep.Runner.Pipelined, md)
	}
	// A stdio protocol answers one request at a time: --concurrency is refused.
	r = cli(t, "", "--store", st, "replay", rec, "-n", "10", "--runner", "process", "--entrypoint", bin, "--concurrency", "4", "--output", out)
	if r.code != 2 || !strings.Contains(r.err, "concurrency 4: protocol jsonl-stdio is a stdio protocol") {
		t.Fatalf("--concurrency on stdio: exit %d, stderr %s", r.code, r.err)
	}
}

func TestReplayUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"replay"}, "requires at least 1 arg"},
		{[]string{"replay", "x.json", "-n", "0"}, "-n must be"},
		{[]string{"replay", "x.json", "--alpha", "2"}, "--alpha"},
		{[]string{"replay", "x.json", "--runner", "vm"}, "--runner must be"},
		{[]string{"replay", "x.json", "--runner", "process"}, "--entrypoint"},
		{[]string{"replay", "x.json", "--memory", "lots"}, "--memory"},
		{[]string{"replay", "x.json", "--memory", "17179869185g"}, "--memory"},
		{[]string{"replay", "x.json", "--memory", "9223372036854775807k"}, "--memory"},
		{[]string{"replay", "x.json", "--memory", "2t"}, "between 6m and 1t"},
		{[]string{"replay", "x.json", "--memory", "5m"}, "between 6m and 1t"},
		{[]string{"replay", "x.json", "--cpus", "NaN"}, "--cpus NaN: must be between 0.01"},
		{[]string{"replay", "x.json", "--cpus", "1e10"}, "--cpus 1e+10: must be between 0.01"},
		{[]string{"replay", "x.json", "--cpus", "1e-10"}, "--cpus 1e-10: must be between 0.01"},
		{[]string{"replay", "x.json", "--cpus", "-1"}, "--cpus"},
		{[]string{"replay", "x.json", "--pids", "9999999999"}, "--pids 9999999999: must be between 1 and 4194304"},
		{[]string{"replay", "x.json", "--pids", "0"}, "--pids 0: must be between 1"},
		{[]string{"replay", "x.json", "--start-timeout", "0s"}, "--start-timeout"},
		{[]string{"replay", "x.json", "--tmpfs-size", "lots"}, "--tmpfs-size"},
		{[]string{"replay", "x.json", "--env", "NOEQUALS"}, "KEY=VALUE"},
		{[]string{"replay", "x.json", "--env", "REPRISE_MODEL=/etc/passwd"}, "--env REPRISE_MODEL: reserved"},
		{[]string{"replay", "x.json", "--env", "REPRISE_CONFIG=x"}, "--env REPRISE_CONFIG: reserved"},
		{[]string{"replay", filepath.Join(dir, "missing.json")}, "no such file"},
		{[]string{"replay", "x.json", "--bogus"}, "unknown flag"},
		{[]string{"replay", "x.json", "--concurrency", "0"}, "--concurrency 0: must be between 1 and 256"},
		{[]string{"replay", "x.json", "--concurrency", "257"}, "--concurrency 257: must be between 1 and 256"},
		{[]string{"replay", "x.json", "--stdio-window", "0"}, "--stdio-window 0: must be between 1 and 1024"},
		{[]string{"replay", "x.json", "--stdio-window", "1025"}, "--stdio-window 1025: must be between 1 and 1024"},
	}
	for _, c := range cases {
		r := cli(t, "", append([]string{"--store", emptyStore(t, dir)}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.err, c.msg) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args, r.code, r.err, c.msg)
		}
	}
}

// TestReplayKilledKeepsRunsAndCleanRemovesContainer kills a replay outright
// (SIGKILL: no cleanup can run): the runs done so far are in the journal, and
// `reprise clean` removes the container it left.
func TestReplayKilledKeepsRunsAndCleanRemovesContainer(t *testing.T) {
	cli, img := fixtureImage(t)
	st := filepath.Join(t.TempDir(), "store")
	rec := captureRec(t, st, img, "2.4.1", "req_sigkill")
	out := filepath.Join(t.TempDir(), "o")
	cmd := exec.Command(os.Args[0], "--store", st, "replay", rec, "-n", "50", "--run-timeout", "5m",
		"--env", "REPRISE_FIXTURE_HANG_AFTER=6", "--output", out)
	cmd.Env = append(os.Environ(), "REPRISE_TEST_AS_CLI=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(out, "runs.journal.jsonl")
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(journal)
		if bytes.Count(b, []byte("\n")) >= 6 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("journal never reached 6 runs: %q", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	b, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i, l := range lines {
		var r replay.RunRow
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.Index != i || r.Label == nil {
			t.Fatalf("journal line %d: %q (%v)", i, l, err)
		}
	}
	pid := cmd.Process.Pid
	left, _ := docker.OwnedBy(context.Background(), cli, pid)
	if len(left) != 1 {
		t.Fatalf("want the killed replay's container left behind, found %v", left)
	}
	// clean removes orphans only: the containers of live replays (other test
	// packages may be running some) stay.
	r := cliRun(t, "clean")
	if r.code != 0 || !strings.Contains(r.out, left[0]) {
		t.Fatalf("clean: exit %d, out %q, err %q", r.code, r.out, r.err)
	}
	if ids, _ := docker.OwnedBy(context.Background(), cli, pid); len(ids) != 0 {
		t.Fatalf("clean left %v", ids)
	}
}

func cliRun(t *testing.T, args ...string) cliResult { return cli(t, "", args...) }

// TestTerminalGetsNoControlCharacters: text from outside (here a record
// path; in real runs a system's stderr in an error) reaches the terminal
// without escape sequences or control characters.
func TestTerminalGetsNoControlCharacters(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x\x1b[2J\x1b[31mREPRODUCED\x00.json")
	r := cli(t, "", "--store", emptyStore(t, dir), "replay", p, "--output", filepath.Join(dir, "o"))
	if r.code != 2 || strings.ContainsAny(r.err+r.out, "\x1b\x00") || !strings.Contains(r.err, "xREPRODUCED.json") {
		t.Fatalf("exit %d, stderr %q, stdout %q", r.code, r.err, r.out)
	}
}

// TestReplayEnvOverrideNotPinned: --env REPRISE_FIXTURE_NOISE=50 on a record
// that did not pin it is in the report: environment pinned: false, naming
// the variable, and its source is the flag (issue 8, item 3).
func TestReplayEnvOverrideNotPinned(t *testing.T) {
	_, img := fixtureImage(t)
	st := filepath.Join(t.TempDir(), "store")
	rec := captureRec(t, st, img, "2.4.1", "req_envflag")
	outDir := filepath.Join(t.TempDir(), "out")
	cli(t, "", "--store", st, "replay", rec, "-n", "20", "--output", outDir, "--env", "REPRISE_FIXTURE_NOISE=50")
	var rep replay.Report
	b, _ := os.ReadFile(filepath.Join(outDir, "report.json"))
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Environment.Pinned || len(rep.Environment.Reasons) != 1 || !strings.Contains(rep.Environment.Reasons[0], "REPRISE_FIXTURE_NOISE") {
		t.Fatalf("environment: %+v", rep.Environment)
	}
	found := false
	for _, s := range rep.Environment.Settings {
		if s.Name == "env.REPRISE_FIXTURE_NOISE" && s.Value == "50" && s.Source == replay.FromFlag {
			found = true
		}
		if s.Name == "pids" && (s.Value != "4096" || s.Source != replay.FromRecord) {
			t.Errorf("pids: %+v", s)
		}
	}
	if !found {
		t.Fatalf("settings lack the flag's variable: %+v", rep.Environment.Settings)
	}
	md, _ := os.ReadFile(filepath.Join(outDir, "report.md"))
	if !strings.Contains(string(md), "environment pinned: false") || !strings.Contains(string(md), "REPRISE\\_FIXTURE\\_NOISE") {
		t.Errorf("report.md:\n%s", md)
	}
}
