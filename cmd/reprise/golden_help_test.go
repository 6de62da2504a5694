package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// commandTree is every command of reprise's tree, parents before their
// children, without cobra's own help and completion commands (added to the
// root when it executes; they are cobra's, not reprise's verbs).
func commandTree() []*cobra.Command {
	root := newRootCmd(&streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
	var all []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		all = append(all, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return all
}

// verbPath is a command's words after "reprise", e.g. [evals run].
func verbPath(c *cobra.Command) []string {
	return strings.Fields(c.CommandPath())[1:]
}

// goldenPrefix names a command's golden files: its words joined by "-"
// ("evals-run"), "root" for the root.
func goldenPrefix(c *cobra.Command) string {
	if !c.HasParent() {
		return "root"
	}
	return strings.Join(verbPath(c), "-")
}

// TestGoldenHelp holds the --help of every command of the tree (verbs and
// the groups above them) to testdata/<verb-path>-help.stdout: a new verb
// fails here until its help is blessed with -update.
func TestGoldenHelp(t *testing.T) {
	var cases []goldenCase
	for _, c := range commandTree() {
		cases = append(cases, goldenCase{goldenPrefix(c) + "-help", append(verbPath(c), "--help"), exitOK})
	}
	if len(cases) < 50 {
		t.Fatalf("the walk found only %d commands", len(cases))
	}
	runGolden(t, cases)
}

// TestGoldenGroups holds, for every group of verbs below the root (capture,
// evals, stats, ...: commands that only hold sub-verbs), the usage error of
// an unknown sub-verb to testdata/<group-path>-unknown-verb.stderr (the
// root's is in TestGoldenVerbs).
func TestGoldenGroups(t *testing.T) {
	var cases []goldenCase
	for _, c := range commandTree() {
		if c.Runnable() || !c.HasParent() {
			continue
		}
		cases = append(cases, goldenCase{goldenPrefix(c) + "-unknown-verb", append(verbPath(c), "frobnicate"), exitUsage})
	}
	if len(cases) < 5 {
		t.Fatalf("the walk found only %d groups", len(cases))
	}
	runGolden(t, cases)
}

// TestGoldenEveryVerb fails when a command (a verb, a group of verbs or the
// root) has no golden --help or no golden file of an invocation besides
// --help: testdata/<verb-path>-<case>.stdout or .stderr that is not one of a
// sub-verb's. The invocations are in TestGoldenVerbs, TestGoldenStats,
// TestGoldenEvals, TestGoldenWorkflow, TestGoldenHost and TestGoldenGroups.
func TestGoldenEveryVerb(t *testing.T) {
	ents, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range ents {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".stdout" || ext == ".stderr") {
			files = append(files, strings.TrimSuffix(e.Name(), ext))
		}
	}
	for _, c := range commandTree() {
		p := goldenPrefix(c)
		if _, err := os.Stat(filepath.Join("testdata", p+"-help.stdout")); err != nil {
			t.Errorf("reprise %s: no golden --help (%s-help.stdout)", strings.Join(verbPath(c), " "), p)
		}
		found := false
		for _, f := range files {
			if !strings.HasPrefix(f, p+"-") || f == p+"-help" || ofSubVerb(c, p, f) {
				continue
			}
			found = true
			break
		}
		if !found {
			t.Errorf("reprise %s: no golden invocation besides --help (testdata/%s-<case>.stdout or .stderr)", strings.Join(verbPath(c), " "), p)
		}
	}
}

// ofSubVerb reports whether golden file name f (without extension) belongs
// to a sub-verb of c, whose prefix is p.
func ofSubVerb(c *cobra.Command, p, f string) bool {
	for _, sub := range c.Commands() {
		if strings.HasPrefix(f, p+"-"+sub.Name()+"-") {
			return true
		}
	}
	return false
}
