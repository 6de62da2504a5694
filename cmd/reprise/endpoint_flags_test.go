package main

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEndpointRefusesSandboxFlags: a running server gets none of the
// sandbox's settings, so --runner endpoint refuses them (exit 2, naming
// the flag and why) and its report lists no sandbox settings (issue 19,
// item 10).
func TestEndpointRefusesSandboxFlags(t *testing.T) {
	srv := textServer(t, "1.0")
	const img = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	st := filepath.Join(t.TempDir(), "store")
	rec := textRecord(t, st, img, "1.0", "req_endpoint_flags", "--text", "the officer smiled .")
	why := ": --runner endpoint replays against a server that already runs, which gets no environment, limits or sandbox from reprise; set them where the server is started, or replay with --runner docker"
	for _, args := range [][]string{{"--env", "A=1"}, {"--memory", "1g"}, {"--cpus", "1"}, {"--pids", "100"}, {"--tmpfs-size", "1m"}} {
		r := cli(t, "", append([]string{"--store", st, "replay", rec, "-n", "5", "--runner", "endpoint", "--url", srv.URL, "--output", t.TempDir()}, args...)...)
		if r.code != 2 || !strings.Contains(r.err, "reprise: "+args[0]+why) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", args, r.code, r.err, args[0]+why)
		}
	}
	// evals run shares the runner flags and their checks.
	r := cli(t, "", "--store", st, "evals", "run", "--suite", fx("suites", "loan-v1"), "--system", rec,
		"--runner", "endpoint", "--url", srv.URL, "--memory", "1g")
	if r.code != 2 || !strings.Contains(r.err, "reprise: --memory"+why) {
		t.Errorf("evals run --memory: exit %d, stderr %q, want 2 and %q", r.code, r.err, "--memory"+why)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--entrypoint", "/bin/true"}, "--entrypoint is only for --runner process"},
		{[]string{"--allow-registry", "r.example.com"}, "--allow-registry is only for --runner docker"},
	} {
		r := cli(t, "", append([]string{"--store", st, "replay", rec, "-n", "5", "--runner", "endpoint", "--url", srv.URL, "--output", t.TempDir()}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.err, c.msg) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args, r.code, r.err, c.msg)
		}
	}
	out := filepath.Join(t.TempDir(), "out")
	if r := cli(t, "", "--store", st, "replay", rec, "-n", "20", "--runner", "endpoint", "--url", srv.URL, "--output", out); r.code == 2 || r.code >= 4 {
		t.Fatalf("replay: exit %d\n%s", r.code, r.err)
	}
	if rep := readReport(t, out); len(rep.Environment.Settings) != 0 {
		t.Errorf("report.json lists sandbox settings of an endpoint: %+v", rep.Environment.Settings)
	}
	if md, _ := os.ReadFile(filepath.Join(out, "report.md")); strings.Contains(string(md), "sandbox setting") || strings.Contains(string(md), "memory_bytes") {
		t.Errorf("report.md lists sandbox settings of an endpoint:\n%s", md)
	}
}

// TestEndpointCredentials: the basic-auth password of the server, given
// in --url, in $REPRISE_ENDPOINT_PASSWORD or in --url-credentials-file,
// reaches the server and appears in no report, output or log line (the
// URL shows it as ***); credentials given twice or unreadable are exit 2
// (issue 19, item 3).
func TestEndpointCredentials(t *testing.T) {
	const user, pw = "alice", "s3cret-Pw-19"
	text := textServer(t, "1.0")
	var denied int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pw {
			denied++
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		text.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	const img = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	st := filepath.Join(t.TempDir(), "store")
	rec := textRecord(t, st, img, "1.0", "req_endpoint_auth", "--text", "the officer smiled .")
	creds := writeFile(t, t.TempDir(), "creds", user+":"+pw+"\n")
	noSecret := func(name, dir string, r cliResult) {
		t.Helper()
		if strings.Contains(r.out, pw) || strings.Contains(r.err, pw) {
			t.Errorf("%s: the password is in the output:\n%s\n%s", name, r.out, r.err)
		}
		if dir == "" {
			return
		}
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if b, _ := os.ReadFile(p); strings.Contains(string(b), pw) {
					t.Errorf("%s: the password is in %s", name, p)
				}
			}
			return nil
		})
	}
	for _, c := range []struct {
		name, url, env string
		extra          []string
	}{
		{"in the URL", "http://" + user + ":" + pw + "@" + host, "", nil},
		{"from the environment", "http://" + user + "@" + host, pw, nil},
		{"from a file", srv.URL, "", []string{"--url-credentials-file", creds}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("REPRISE_ENDPOINT_PASSWORD", c.env)
			out := filepath.Join(t.TempDir(), "out")
			r := cli(t, "", append([]string{"-v", "--store", st, "replay", rec, "-n", "20", "--runner", "endpoint", "--url", c.url, "--output", out, "--format", "json"}, c.extra...)...)
			if r.code == 2 || r.code >= 4 {
				t.Fatalf("replay: exit %d\n%s", r.code, r.err)
			}
			noSecret(c.name, out, r)
			if rep := readReport(t, out); rep.Runner.URL != "http://"+user+":***@"+host {
				t.Errorf("runner.url %q, want the password as ***", rep.Runner.URL)
			}
		})
	}
	// A wrong password: the server's refusal, without the password.
	r := cli(t, "", "--store", st, "replay", rec, "-n", "5", "--runner", "endpoint", "--start-timeout", "300ms", "--url", "http://"+user+":wrong-"+pw+"@"+host, "--output", t.TempDir())
	if r.code != 5 || !strings.Contains(r.err, "401") {
		t.Errorf("wrong password: exit %d, stderr %s", r.code, r.err)
	}
	noSecret("wrong password", "", r)

	t.Setenv("REPRISE_ENDPOINT_PASSWORD", "")
	bad := writeFile(t, t.TempDir(), "bad", pw+"\n")
	for _, c := range []struct {
		url, env string
		extra    []string
		msg      string
	}{
		{"http://" + user + ":" + pw + "@" + host, pw, nil, "endpoint credentials: --url http://alice:***@" + host + " has a password, and so has $REPRISE_ENDPOINT_PASSWORD: give it once"},
		{"http://" + user + ":" + pw + "@" + host, "", []string{"--url-credentials-file", creds}, "has a password, and so has --url-credentials-file: give it once"},
		{srv.URL, pw, []string{"--url-credentials-file", creds}, "both --url-credentials-file and $REPRISE_ENDPOINT_PASSWORD give a password: give it once"},
		{srv.URL, "", []string{"--url-credentials-file", bad}, "endpoint credentials: " + bad + ": want one line USER:PASSWORD"},
		{srv.URL, "", []string{"--url-credentials-file", filepath.Dir(bad)}, filepath.Dir(bad) + ": not a regular file"},
		{srv.URL, "", []string{"--url-credentials-file", bad + ".absent"}, "no such file"},
		{"http://bob@" + host, "", []string{"--url-credentials-file", creds}, `--url names the user "bob" and --url-credentials-file ` + creds + ` the user "alice"`},
		{"http://" + user + ":" + pw + "/x@" + host, "", nil, `--url: "http://***@` + host + `" is not a valid URL`},
		{"ftp://" + user + ":" + pw + "@" + host, "", nil, `--url: want http(s)://HOST[:PORT][/PREFIX], got "ftp://alice:***@` + host + `"`},
	} {
		t.Setenv("REPRISE_ENDPOINT_PASSWORD", c.env)
		r := cli(t, "", append([]string{"--store", st, "replay", rec, "--runner", "endpoint", "--url", c.url, "--output", t.TempDir()}, c.extra...)...)
		if r.code != 2 || !strings.Contains(r.err, c.msg) {
			t.Errorf("%s %v: exit %d, stderr %q, want 2 and %q", c.url, c.extra, r.code, r.err, c.msg)
		}
		noSecret(c.url, "", r)
	}
	if r := cli(t, "", "--store", st, "replay", rec, "--url-credentials-file", creds, "--output", t.TempDir()); r.code != 2 || !strings.Contains(r.err, "--url-credentials-file is only for --runner endpoint") {
		t.Errorf("docker with a credentials file: exit %d, %s", r.code, r.err)
	}
	if denied == 0 {
		t.Error("the server never refused a request: the test does not test basic auth")
	}
}
