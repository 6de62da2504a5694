package process

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
	"github.com/reprise-dev/reprise/system"
)

// helperEnv switches the test binary into one of the fake systems below.
const helperEnv = "REPRISE_PROCESS_TEST_HELPER"

// TestMain runs the fake systems: the test binary, started with helperEnv set,
// becomes a jsonl-stdio system (no shell involved).
func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
}

// helper is a fake system. Modes:
//
//	banner  prints one answer line before reading any request, then answers each
//	twice   answers each request with two lines
//	env     answers each request with its environment in "text"
//	parent  starts a process-runner session of the "sleep" helper, prints the
//	        child's pid and sleeps (the Pdeathsig test SIGKILLs it)
//	sleep   answers each request with its pid in "text", then sleeps when stdin ends
//
// and a mode ending in "+id" echoes request ids. Answers are
// {"label":"seed-<seed>"}, so a test can tell whose answer a line is.
func helper(mode string) int {
	mode, echo := strings.CutSuffix(mode, "+id")
	if mode == "parent" {
		exe, _ := os.Executable()
		s, err := (&Runner{Entrypoint: exe}).Start(context.Background(), runners.Spec{Codec: jsonl.Codec{}, Env: map[string]string{helperEnv: "sleep"}})
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		resp, err := s.Run(context.Background(), runners.Request{Params: system.Params{}.WithSeed(1)})
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println(*resp.Output.Text)
		time.Sleep(time.Hour)
		return 0
	}
	w := bufio.NewWriter(os.Stdout)
	answer := func(line []byte) {
		var req struct {
			ID     string
			Params struct{ Seed int64 }
		}
		json.Unmarshal(line, &req)
		out := map[string]any{"label": "seed-" + strconv.FormatInt(req.Params.Seed, 10)}
		if echo {
			out["id"] = req.ID
		}
		switch mode {
		case "env":
			out["text"] = strings.Join(os.Environ(), "\n")
		case "sleep":
			out["text"] = strconv.Itoa(os.Getpid())
		}
		b, _ := json.Marshal(out)
		w.Write(append(b, '\n'))
		if mode == "twice" {
			w.Write(append(b, '\n'))
		}
		w.Flush()
	}
	if mode == "banner" {
		answer([]byte(`{"params":{"seed":-1}}`))
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		answer(sc.Bytes())
	}
	if mode == "sleep" {
		time.Sleep(time.Hour)
	}
	return 0
}

func helperRunner(t *testing.T) *Runner {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &Runner{Entrypoint: exe}
}

// TestOutOfStepSystems: a system printing one line before the first request
// or two lines per request never has a line counted for the wrong run: every
// run that is not reported carries its own answer, every run from
// OutOfStepError.Since on is suspect, and the error names the line.
func TestOutOfStepSystems(t *testing.T) {
	for _, mode := range []string{"banner", "banner+id", "twice", "twice+id"} {
		t.Run(mode, func(t *testing.T) {
			s, err := helperRunner(t).Start(context.Background(), runners.Spec{Codec: jsonl.Codec{}, Env: map[string]string{helperEnv: mode}, RunTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(context.Background())
			var got []string
			for i := range 20 {
				var resp runners.Response
				resp, err = s.Run(context.Background(), runners.Request{Params: system.Params{}.WithSeed(int64(i))})
				if err != nil {
					break
				}
				got = append(got, *resp.Output.Label)
			}
			if err == nil {
				err = s.(runners.Finisher).Finish(context.Background())
			}
			var oos *runners.OutOfStepError
			if !errors.Is(err, runners.ErrProtocol) || !errors.As(err, &oos) || !strings.Contains(err.Error(), `\"label\":\"seed-`) {
				t.Fatalf("err = %v, want an OutOfStepError naming the line; runs %v", err, got)
			}
			for k := 0; k < oos.Since && k < len(got); k++ {
				if got[k] != "seed-"+strconv.Itoa(k) {
					t.Fatalf("run %d carries %q and is not suspect (since %d)", k, got[k], oos.Since)
				}
			}
			if mode == "banner+id" && oos.Since != 0 {
				t.Fatalf("since %d, want 0", oos.Since)
			}
			t.Logf("reported as: %v", err)
		})
	}
}

// TestMinimalEnvironment: the system does not see reprise's environment.
func TestMinimalEnvironment(t *testing.T) {
	t.Setenv("REPRISE_TEST_SECRET", "hunter2")
	t.Setenv("TZ", "UTC")
	s, err := helperRunner(t).Start(context.Background(), runners.Spec{Codec: jsonl.Codec{}, ModelPath: "/m", ConfigPath: "/c",
		Components: map[string]string{"index": "/w/components/index", "prompt.v2": "/w/components/prompt.v2"},
		Env:        map[string]string{helperEnv: "env", "EXTRA": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	resp, err := s.Run(context.Background(), runners.Request{Params: system.Params{}.WithSeed(1)})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(*resp.Output.Text, "\n") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if _, ok := env["REPRISE_TEST_SECRET"]; ok {
		t.Fatalf("the system sees REPRISE_TEST_SECRET: %v", env)
	}
	for k, want := range map[string]string{"REPRISE_MODEL": "/m", "REPRISE_CONFIG": "/c", "EXTRA": "1", "TZ": "UTC", "PATH": os.Getenv("PATH"),
		"REPRISE_COMPONENT_INDEX": "/w/components/index", "REPRISE_COMPONENT_PROMPT_V2": "/w/components/prompt.v2"} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	home := env["HOME"]
	if home == "" || home == os.Getenv("HOME") {
		t.Fatalf("HOME = %q, want a fresh directory", home)
	}
	if des, err := os.ReadDir(home); err != nil || len(des) != 0 {
		t.Fatalf("HOME %s: %v, %d entries", home, err, len(des))
	}
	s.Close(context.Background())
	if _, err := os.Stat(home); !os.IsNotExist(err) {
		t.Fatalf("HOME %s left behind: %v", home, err)
	}
}

// TestChildDiesWithReprise: a reprise killed outright (SIGKILL) takes its
// system with it.
func TestChildDiesWithReprise(t *testing.T) {
	exe, _ := os.Executable()
	parent := exec.Command(exe)
	parent.Env = append(os.Environ(), helperEnv+"=parent")
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer parent.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		t.Fatalf("parent printed %q: %v %v", line, err, perr)
	}
	if !alive(pid) {
		t.Fatalf("child %d not running before the kill", pid)
	}
	parent.Process.Signal(syscall.SIGKILL)
	parent.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d still alive 5 s after its parent was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie waiting to be reaped counts as dead).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
