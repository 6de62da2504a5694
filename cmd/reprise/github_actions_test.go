package main

import (
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/reprise-dev/reprise/fixtures/gobuild"
	"github.com/reprise-dev/reprise/runners/hwclass"
)

// ghStep is one step of a workflow job or of a composite action.
type ghStep struct {
	Name  string            `yaml:"name"`
	ID    string            `yaml:"id"`
	Uses  string            `yaml:"uses"`
	Run   string            `yaml:"run"`
	If    string            `yaml:"if"`
	Shell string            `yaml:"shell"`
	With  map[string]string `yaml:"with"`
	Env   map[string]string `yaml:"env"`
}

type ghWorkflow struct {
	Name        string            `yaml:"name"`
	Permissions map[string]string `yaml:"permissions"`
	On          map[string]any    `yaml:"on"`
	Env         map[string]string `yaml:"env"`
	Defaults    struct {
		Run struct {
			Shell string `yaml:"shell"`
		} `yaml:"run"`
	} `yaml:"defaults"`
	Jobs map[string]struct {
		RunsOn         string   `yaml:"runs-on"`
		TimeoutMinutes int      `yaml:"timeout-minutes"`
		Steps          []ghStep `yaml:"steps"`
	} `yaml:"jobs"`
}

type ghAction struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Inputs      map[string]struct {
		Description string `yaml:"description"`
		Default     string `yaml:"default"`
		Required    bool   `yaml:"required"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
		Value       string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string   `yaml:"using"`
		Steps []ghStep `yaml:"steps"`
	} `yaml:"runs"`
}

// decodeStrict decodes YAML into v, refusing fields v does not have.
func decodeStrict(t *testing.T, name string, b []byte, v any) {
	t.Helper()
	d := yaml.NewDecoder(strings.NewReader(string(b)))
	d.KnownFields(true)
	if err := d.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

var yamlBlockRE = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// docWorkflow is the one YAML block of docs/github-actions.md.
func docWorkflow(t *testing.T) ghWorkflow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "docs", "github-actions.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := yamlBlockRE.FindAllSubmatch(b, -1)
	if len(m) != 1 {
		t.Fatalf("docs/github-actions.md has %d yaml blocks, want 1", len(m))
	}
	var w ghWorkflow
	decodeStrict(t, "the workflow", m[0][1], &w)
	return w
}

func readAction(t *testing.T) ghAction {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), ".github", "actions", "reprise-nightly", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a ghAction
	decodeStrict(t, "action.yml", b, &a)
	return a
}

// ghRunner runs a workflow's run steps as a GitHub runner does: each step
// a bash script in the workspace, with the variables GitHub sets and a
// fresh GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and GITHUB_STEP_SUMMARY file
// per step; ${{ }} expressions are evaluated from the contexts the steps
// use (an unknown one fails the test).
type ghRunner struct {
	t         *testing.T
	workspace string
	temp      string
	env       map[string]string            // the job's environment (workflow env, GITHUB_ENV)
	path      []string                     // GITHUB_PATH entries, latest first
	outputs   map[string]map[string]string // by step id
	summary   strings.Builder              // every step's summary
	failed    bool
}

var exprRE = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// eval evaluates the expressions of s; inputs are a composite action's.
func (g *ghRunner) eval(s string, inputs map[string]string) string {
	return exprRE.ReplaceAllStringFunc(s, func(m string) string {
		e := exprRE.FindStringSubmatch(m)[1]
		switch {
		case e == "github.workspace":
			return g.workspace
		case e == "runner.temp":
			return g.temp
		case e == "github.run_id":
			return "4242"
		case strings.HasPrefix(e, "inputs.") && inputs != nil:
			v, ok := inputs[strings.TrimPrefix(e, "inputs.")]
			if !ok {
				g.t.Fatalf("expression %s: no such input", m)
			}
			return v
		case strings.HasPrefix(e, "steps."):
			parts := strings.Split(e, ".")
			if len(parts) != 4 || parts[2] != "outputs" {
				g.t.Fatalf("expression %s", m)
			}
			return g.outputs[parts[1]][parts[3]]
		}
		g.t.Fatalf("expression %s: not a context this test knows", m)
		return ""
	})
}

// runStep runs one run step (its env evaluated with inputs) and returns
// its exit code and output; its outputs go under id.
func (g *ghRunner) runStep(s ghStep, id string, inputs map[string]string, extraEnv map[string]string) (int, string) {
	g.t.Helper()
	dir := g.t.TempDir()
	files := map[string]string{}
	for _, k := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY"} {
		files[k] = filepath.Join(dir, strings.ToLower(k))
		os.WriteFile(files[k], nil, 0o644)
	}
	script := filepath.Join(dir, "step.sh")
	os.WriteFile(script, []byte(g.eval(s.Run, inputs)), 0o755)
	env := os.Environ()
	env = slicesDeleteGitHub(env)
	path := strings.Join(append(append([]string{}, g.path...), os.Getenv("PATH")), string(os.PathListSeparator))
	set := map[string]string{"GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_WORKSPACE": g.workspace, "RUNNER_TEMP": g.temp,
		"RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "GITHUB_RUN_ID": "4242", "GITHUB_REPOSITORY": "example/loans",
		"GITHUB_EVENT_NAME": "schedule", "GITHUB_JOB": "nightly", "PATH": path}
	for k, v := range files {
		set[k] = v
	}
	for k, v := range g.env {
		set[k] = v
	}
	for k, v := range extraEnv {
		set[k] = v
	}
	for k, v := range s.Env {
		set[k] = g.eval(v, inputs)
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Dir, cmd.Env = g.workspace, env
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		g.t.Fatalf("step %q: %v", s.Name, err)
	}
	g.collect(id, files)
	return code, string(out)
}

// collect takes a finished step's GITHUB_OUTPUT (as the outputs of id),
// GITHUB_ENV, GITHUB_PATH and GITHUB_STEP_SUMMARY.
func (g *ghRunner) collect(id string, files map[string]string) {
	kv := func(name string) map[string]string {
		b, _ := os.ReadFile(files[name])
		m := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				m[k] = v
			}
		}
		return m
	}
	if id != "" {
		g.outputs[id] = kv("GITHUB_OUTPUT")
	}
	for k, v := range kv("GITHUB_ENV") {
		g.env[k] = v
	}
	b, _ := os.ReadFile(files["GITHUB_PATH"])
	for _, p := range strings.Fields(string(b)) {
		g.path = append([]string{p}, g.path...)
	}
	s, _ := os.ReadFile(files["GITHUB_STEP_SUMMARY"])
	g.summary.Write(s)
}

func slicesDeleteGitHub(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "GITHUB_") && !strings.HasPrefix(e, "RUNNER_") && !strings.HasPrefix(e, "REPRISE_STORE=") {
			out = append(out, e)
		}
	}
	return out
}

// composite runs the reprise-nightly action with the step's inputs and
// returns its outputs, exit code and output.
func (g *ghRunner) composite(a ghAction, s ghStep) (map[string]string, int, string) {
	g.t.Helper()
	inputs := map[string]string{}
	for k, in := range a.Inputs {
		inputs[k] = in.Default
	}
	for k, v := range s.With {
		if _, ok := a.Inputs[k]; !ok {
			g.t.Fatalf("step %q gives input %q the action does not have", s.Name, k)
		}
		inputs[k] = g.eval(v, nil)
	}
	for k, in := range a.Inputs {
		if in.Required && inputs[k] == "" {
			g.t.Fatalf("step %q lacks the required input %q", s.Name, k)
		}
	}
	actionPath := filepath.Join(repoRoot(), ".github", "actions", "reprise-nightly")
	abs, _ := filepath.Abs(actionPath)
	var all strings.Builder
	for _, as := range a.Runs.Steps {
		if as.Shell != "bash" || as.Run == "" {
			g.t.Fatalf("action step %q: shell %q, want a bash run step", as.Name, as.Shell)
		}
		code, out := g.runStep(as, as.ID, inputs, map[string]string{"GITHUB_ACTION_PATH": abs})
		all.WriteString(out)
		if code != 0 {
			return nil, code, all.String()
		}
	}
	outs := map[string]string{}
	for k, o := range a.Outputs {
		outs[k] = g.eval(o.Value, inputs)
	}
	return outs, 0, all.String()
}

// ghWorkspace is the repository a team keeps (docs/github-actions.md):
// a generated decision log of 40 rows in the last hours, two planted
// (served by 2.4.2 on the input where 2.4.1 and 2.4.2 disagree), its
// version map and inputs, the models and the config.
func ghWorkspace(t *testing.T, img string) string {
	t.Helper()
	ws := t.TempDir()
	gen := exec.Command("go", "run", "./fixtures/cmd/gen-decision-log", "-rows", "40", "-planted", "0.05", "-seed", "4",
		"-planted-input", "fixtures/inputs/application-demo.json", "-image", img, "-hardware-class", hwclass.Detect(context.Background()),
		"-start", time.Now().UTC().Add(-3*time.Hour).Format(time.RFC3339), "-out", filepath.Join(ws, "decisions"))
	gen.Dir = repoRoot()
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, out)
	}
	for dir, files := range map[string][]string{"models": {"loan-approver-2.4.1.safetensors", "loan-approver-2.4.2.safetensors"}, "configs": {"loan-params-3.json"}} {
		os.MkdirAll(filepath.Join(ws, dir), 0o755)
		for _, f := range files {
			b, err := os.ReadFile(fx(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(ws, dir, f), b, 0o644)
		}
	}
	return ws
}

// buildReprise builds the reprise binary into a folder it returns (for
// $PATH).
func buildReprise(t *testing.T) string {
	t.Helper()
	return filepath.Dir(gobuild.Build(t, "./cmd/reprise", "-trimpath"))
}

// TestGitHubActionsWorkflowShape checks the documented workflow and the
// composite action without running them: a schedule, the steps in order,
// the reports uploaded and published whatever the night's verdict, the
// action's inputs passed through env (never spliced into the script).
func TestGitHubActionsWorkflowShape(t *testing.T) {
	w := docWorkflow(t)
	if _, ok := w.On["schedule"]; !ok || w.Defaults.Run.Shell != "bash" || len(w.Jobs) != 1 {
		t.Fatalf("workflow: on %v, shell %q, %d jobs", w.On, w.Defaults.Run.Shell, len(w.Jobs))
	}
	var uses []string
	for _, job := range w.Jobs {
		for _, s := range job.Steps {
			if s.Uses != "" {
				uses = append(uses, strings.Split(s.Uses, "@")[0])
			}
			if strings.Contains(s.Name, "Upload") || strings.Contains(s.Name, "JUnit") || s.Name == "Verdict" {
				if s.If != "always()" {
					t.Errorf("step %q runs only when the steps before it passed (if: %q)", s.Name, s.If)
				}
			}
		}
	}
	want := []string{"actions/checkout", "actions/setup-go", "actions/cache", "reprise-dev/reprise/.github/actions/reprise-nightly", "actions/upload-artifact", "mikepenz/action-junit-report"}
	if strings.Join(uses, " ") != strings.Join(want, " ") {
		t.Errorf("actions used %q, want %q", uses, want)
	}
	a := readAction(t)
	if a.Runs.Using != "composite" || len(a.Runs.Steps) != 1 || a.Outputs["exit-code"].Value == "" || a.Outputs["out"].Value == "" {
		t.Fatalf("action: %+v", a)
	}
	if strings.Contains(a.Runs.Steps[0].Run, "${{") {
		t.Error("the action's script splices an expression; pass it through env")
	}
}

// TestGitHubActionsWorkflow runs the documented workflow's steps (see
// docs/github-actions.md) against the real engine: the night finds the
// planted divergences, the step summary and the annotations are written,
// the folder to upload and the JUnit file to publish exist, and the job
// ends with exit 1.
func TestGitHubActionsWorkflow(t *testing.T) {
	_, img := fixtureImage(t)
	day := time.Now().UTC().Format("2006-01-02")
	w, a := docWorkflow(t), readAction(t)
	g := &ghRunner{t: t, workspace: ghWorkspace(t, img), temp: t.TempDir(), env: map[string]string{}, outputs: map[string]map[string]string{},
		path: []string{buildReprise(t)}}
	for k, v := range w.Env {
		g.env[k] = g.eval(v, nil)
	}
	var cached, nightOut, verdict string
	exit := -1
	for _, job := range w.Jobs {
		for _, s := range job.Steps {
			if g.failed && s.If != "always()" {
				t.Logf("step %q skipped (a step before it failed)", s.Name)
				continue
			}
			name, _, _ := strings.Cut(s.Uses, "@")
			switch name {
			case "actions/checkout": // the workspace is the checkout
			case "actions/setup-go":
				if _, err := exec.LookPath("go"); err != nil {
					t.Fatal(err)
				}
			case "actions/cache":
				cached = filepath.Join(g.workspace, g.eval(s.With["path"], nil))
			case "reprise-dev/reprise/.github/actions/reprise-nightly":
				outs, code, out := g.composite(a, s)
				g.outputs[s.ID] = outs
				t.Logf("step %q: exit %d\n%s", s.Name, code, out)
				if code != 0 {
					g.failed = true
					continue
				}
				if !strings.Contains(out, "::error title=DIVERGED ") {
					t.Errorf("step %q wrote no DIVERGED annotation", s.Name)
				}
				nightOut = outs["out"]
			case "actions/upload-artifact":
				p := g.eval(s.With["path"], nil)
				if st, err := os.Stat(filepath.Join(g.workspace, p, "report.html")); err != nil || st.Size() == 0 {
					t.Errorf("upload-artifact path %q holds no report.html: %v", p, err)
				}
			case "mikepenz/action-junit-report":
				checkJUnit(t, filepath.Join(g.workspace, g.eval(s.With["report_paths"], nil)))
			case "":
				code, out := g.runStep(s, s.ID, nil, nil)
				t.Logf("step %q: exit %d\n%s", s.Name, code, out)
				if code != 0 {
					g.failed = true
				}
				if s.Name == "Verdict" {
					exit, verdict = code, out
				}
			default:
				t.Fatalf("step %q uses %s, which this test does not know", s.Name, s.Uses)
			}
		}
	}
	if exit != 1 || !strings.Contains(verdict, "reprise nightly exited 1") {
		t.Errorf("the job ended with exit %d (%q), want 1: the planted rows DIVERGED", exit, verdict)
	}
	if nightOut != "out/nightly-"+day && nightOut != "out/nightly-"+time.Now().UTC().Format("2006-01-02") { // the night may cross midnight
		t.Errorf("the night's output folder %q", nightOut)
	}
	if st, err := os.Stat(filepath.Join(cached, "index.json")); err != nil || st.Size() == 0 || cached != g.env["REPRISE_STORE"] {
		t.Errorf("the cached path %q is not the store %q: %v", cached, g.env["REPRISE_STORE"], err)
	}
	if s := g.summary.String(); !strings.Contains(s, "## reprise nightly: diverged") || !strings.Contains(s, "### DIVERGED") {
		t.Errorf("step summary:\n%s", s)
	}
}

// checkJUnit checks that path is a JUnit file with a testcase per record
// (40; the fleet test may add one) and a failure.
func checkJUnit(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("JUnit report_paths: %v", err)
		return
	}
	var ju struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(b, &ju); err != nil || ju.Tests < 40 || ju.Tests > 41 || ju.Failures < 1 {
		t.Errorf("%s: %v, %d tests, %d failures; want 40 (41 with the fleet test) and a failure", path, err, ju.Tests, ju.Failures)
	}
}
