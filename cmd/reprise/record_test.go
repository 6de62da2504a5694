package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/record"
)

// declaredRecord runs record create without --capture with extra flags and
// returns the result and the store folder.
func declaredRecord(t *testing.T, extra ...string) (cliResult, string) {
	t.Helper()
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	in := writeFile(t, dir, "input.json", `{"income": 52000}`)
	model := writeFile(t, dir, "model.bin", "weights v1")
	cfg := writeFile(t, dir, "config.json", `{"name":"loan-params","version":"3"}`)
	args := append([]string{"--store", st, "record", "create", "--input", in, "--image", testImage,
		"--model", model, "--config", cfg, "--label", "approved", "--request-id", "req_declared",
		"--hardware-class", "cpu/amd64/x86-64-v3", "--timestamp", "2026-08-02T10:00:00Z"}, extra...)
	return cli(t, "", args...), st
}

// TestRecordCreateDeclaredRuntime: without --capture, --env, --memory,
// --cpus and --pids say what the system ran with at decision time; the
// record stores exactly the ones given (runtime.env_vars, runtime.limits),
// in the record's ranges rather than this host's (a decision made on a
// 64-CPU machine is recorded on a smaller one).
func TestRecordCreateDeclaredRuntime(t *testing.T) {
	for _, c := range []struct {
		name   string
		flags  []string
		env    map[string]string
		limits *record.Limits
	}{
		{"none", nil, nil, nil},
		{"all", []string{"--env", "OMP_NUM_THREADS=1", "--env", "MODE=a=b", "--memory", "1g", "--cpus", "1.5", "--pids", "64"},
			map[string]string{"OMP_NUM_THREADS": "1", "MODE": "a=b"}, &record.Limits{MemoryBytes: 1 << 30, NanoCPUs: 15e8, Pids: 64}},
		{"memory only", []string{"--memory", "512m"}, nil, &record.Limits{MemoryBytes: 512 << 20}},
		{"more CPUs than this host", []string{"--cpus", "1024"}, nil, &record.Limits{NanoCPUs: 1024e9}},
		{"env only", []string{"--env", "A="}, map[string]string{"A": ""}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, _ := declaredRecord(t, c.flags...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.err)
			}
			rec, err := record.Parse([]byte(r.out))
			if err != nil {
				t.Fatal(err)
			}
			env, _ := json.Marshal(rec.Runtime.EnvVars)
			want, _ := json.Marshal(c.env)
			if string(env) != string(want) {
				t.Errorf("runtime.env_vars = %s, want %s", env, want)
			}
			if (rec.Runtime.Limits == nil) != (c.limits == nil) || (c.limits != nil && *rec.Runtime.Limits != *c.limits) {
				t.Errorf("runtime.limits = %+v, want %+v", rec.Runtime.Limits, c.limits)
			}
			if c.limits == nil && strings.Contains(r.out, `"limits"`) || c.env == nil && strings.Contains(r.out, `"env_vars"`) {
				t.Errorf("record holds fields no flag gave:\n%s", r.out)
			}
		})
	}
}

// TestRecordCreateDeclaredRuntimeErrors: a bad declared setting, or a flag
// that only configures a capture session, is refused with exit 2 naming the
// flag, before anything is stored.
func TestRecordCreateDeclaredRuntimeErrors(t *testing.T) {
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--cpus", "2000"}, "--cpus 2000: must be between 0.01 and 1024"},
		{[]string{"--cpus", "NaN"}, "--cpus NaN: must be between 0.01 and 1024"},
		{[]string{"--cpus", "0.001"}, "--cpus 0.001: must be between 0.01 and 1024"},
		{[]string{"--memory", "5m"}, "--memory 5m: must be between 6m and 1t (6 MiB and 1 TiB), got 5242880 bytes"},
		{[]string{"--memory", "lots"}, "--memory: "},
		{[]string{"--pids", "0"}, "--pids 0: must be between 1 and 4194304"},
		{[]string{"--env", "REPRISE_MODEL=/x"}, "--env REPRISE_MODEL: reserved, reprise sets it"},
		{[]string{"--env", "NOVALUE"}, `--env "NOVALUE": want KEY=VALUE`},
		{[]string{"--env", "1BAD=x"}, "--env 1BAD: not an environment variable name"},
		{[]string{"--runner", "process"}, "--runner: only with --capture"},
		{[]string{"--url", "http://h:1", "--offline", "--tmpfs-size", "1m"}, "--url, --tmpfs-size, --offline: only with --capture"},
		{[]string{"--start-timeout", "1s", "--run-timeout", "1s", "--session-timeout", "1s", "--max-response-size", "1m", "--entrypoint", "x"},
			"--entrypoint, --start-timeout, --run-timeout, --session-timeout, --max-response-size: only with --capture"},
	} {
		t.Run(strings.Join(c.flags, " "), func(t *testing.T) {
			r, st := declaredRecord(t, c.flags...)
			if r.code != exitUsage || !strings.Contains(r.err, c.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", r.code, r.err, exitUsage, c.want)
			}
			if _, err := os.Stat(st); !os.IsNotExist(err) {
				t.Errorf("a refused record left a store behind: %v", err)
			}
		})
	}
}
