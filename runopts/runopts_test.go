package runopts

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/runners"
)

// valid are the options of a docker runner with the flags' defaults.
func valid() Options {
	return Options{Runner: "docker", StartTimeout: time.Minute, RunTimeout: 30 * time.Second, SessionTimeout: time.Hour,
		Memory: "512m", CPUs: 1, Pids: 256, TmpfsSize: "64m", MaxResponseSize: "4m"}
}

// TestInvalid: every invalid option is an error matching ErrInvalid whose
// message names the flag, from Validate, Launch or Declared.
func TestInvalid(t *testing.T) {
	const exe = "/bin/sh" // an executable file
	for _, c := range []struct {
		name string
		edit func(*Options)
		call func(*Options) error
		msg  string
	}{
		{"runner", func(o *Options) { o.Runner = "k8s" }, validate, `--runner must be docker, process or endpoint, got "k8s"`},
		{"entrypoint for docker", func(o *Options) { o.Entrypoint = exe }, validate, "--entrypoint is only for --runner process"},
		{"process without entrypoint", func(o *Options) { o.Runner = "process" }, validate, "--runner process needs --entrypoint PATH"},
		{"process, a folder", func(o *Options) { o.Runner, o.Entrypoint = "process", t.TempDir() }, validate, "not an executable file"},
		{"registry for process", func(o *Options) { o.Runner, o.Entrypoint, o.AllowRegistry = "process", exe, []string{"r.example"} }, validate, "--allow-registry is only for --runner docker"},
		{"endpoint without url", func(o *Options) { o.Runner = "endpoint" }, validate, "--runner endpoint needs --url URL"},
		{"endpoint with env", func(o *Options) { o.Runner, o.URL, o.Env = "endpoint", "http://h:1", []string{"A=1"} }, validate, "--env: --runner endpoint replays against a server that already runs"},
		{"offline and registry", func(o *Options) { o.Offline, o.AllowRegistry = true, []string{"r.example"} }, validate, "--offline never pulls"},
		{"timeout", func(o *Options) { o.RunTimeout = 0 }, validate, "must be positive"},
		{"memory", func(o *Options) { o.Memory = "1k" }, launchErr, "--memory 1k: must be between 6m and 1t"},
		{"memory syntax", func(o *Options) { o.Memory = "lots" }, launchErr, "--memory: "},
		{"cpus", func(o *Options) { o.CPUs = 1e6 }, launchErr, "--cpus 1e+06: must be between"},
		{"pids", func(o *Options) { o.Pids = 0 }, launchErr, "--pids 0: must be between"},
		{"env", func(o *Options) { o.Env = []string{"NOEQUALS"} }, launchErr, `--env "NOEQUALS": want KEY=VALUE`},
		{"reserved env", func(o *Options) { o.Env = []string{"REPRISE_MODEL=x"} }, launchErr, "--env REPRISE_MODEL: reserved"},
		{"response size", func(o *Options) { o.MaxResponseSize = "0" }, launchErr, "--max-response-size"},
		{"window", func(o *Options) { o.InFlight, o.Concurrency, o.Window = true, 1, 0 }, launchErr, "--stdio-window 0: must be between 1 and"},
		{"declared, a session flag", func(o *Options) { o.Given = func(f string) bool { return f == "offline" } }, declared, "--offline: only with --capture"},
		{"declared env name", func(o *Options) { o.Env = []string{"1X=y"} }, declared, "--env 1X: not an environment variable name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := valid()
			c.edit(&o)
			err := c.call(&o)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%v; want ErrInvalid saying %q", err, c.msg)
			}
		})
	}
}

func validate(o *Options) error { return o.Validate() }

func launchErr(o *Options) error { _, err := o.Launch(context.Background()); return err }

func declared(o *Options) error { _, _, err := o.Declared(); return err }

// TestLaunch: valid options give the session settings they say; an
// endpoint gets no sandbox and no environment; without the in-flight
// flags runs go one at a time.
func TestLaunch(t *testing.T) {
	o := valid()
	o.Env = []string{"A=1", "B=x=y"}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	lo, err := o.Launch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := runners.Limits{MemoryBytes: 512 << 20, NanoCPUs: 1e9, Pids: 256, TmpfsBytes: 64 << 20}
	if lo.Limits != want || lo.Env["B"] != "x=y" || len(lo.Env) != 2 || lo.NoSandbox || lo.MaxResponseBytes != 4<<20 ||
		lo.Concurrency != 1 || lo.Window != 0 || lo.RunTimeout != 30*time.Second || lo.HostClass == "" {
		t.Errorf("launch options %+v", lo)
	}
	o.Runner, o.URL, o.Env = "endpoint", "http://h:1", nil
	if lo, err = o.Launch(context.Background()); err != nil || !lo.NoSandbox || lo.Limits != (runners.Limits{}) || lo.Env != nil {
		t.Errorf("endpoint: %+v %v", lo, err)
	}
}

// TestDeclared: only the limits given are declared, against the record's
// ranges (not this host's CPUs); none given is nil.
func TestDeclared(t *testing.T) {
	o := valid()
	o.Given = func(f string) bool { return f == "cpus" || f == "memory" }
	o.CPUs = 100 // more than this host has, within system.MaxNanoCPUs
	env, l, err := o.Declared()
	if err != nil || env != nil || l == nil || l.NanoCPUs != 100e9 || l.MemoryBytes != 512<<20 || l.Pids != 0 {
		t.Errorf("declared %v %+v %v", env, l, err)
	}
	o.Given = func(string) bool { return false }
	if _, l, err := o.Declared(); l != nil || err != nil {
		t.Errorf("nothing given: %+v %v", l, err)
	}
}
