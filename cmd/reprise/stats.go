package main

import (
	"bufio"
	"encoding/json"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// newStatsCmd is `reprise stats TEST [flags]`: one statistical test from the
// command line, answered as one JSON object on stdout.
func newStatsCmd(g *globalOptions, s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stats TEST",
		Short: "Run one statistical test on samples read from files; prints JSON",
		Long: `Run one statistical test of reprise's stats package on samples read from files
(one value per line: numbers, or labels for categorical tests) and print one
JSON object on stdout. Two-sided is the default everywhere.`,
	}
	addStatsProportionCommands(cmd, s)
	addStatsSampleCommands(cmd, s)
	return cmd
}

// writeJSON prints v as one indented JSON object.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// readNumbers reads a file of one number per line (blank lines and lines
// starting with # are skipped). A bad file or value is a usage error naming
// the file and line.
func readNumbers(path string) ([]float64, error) {
	lines, err := readLines(path)
	if err != nil {
		return nil, err
	}
	out := make([]float64, 0, len(lines))
	for _, l := range lines {
		v, err := strconv.ParseFloat(l.text, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, usageErrorf("%s:%d: %q is not a finite number", path, l.no, l.text)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, usageErrorf("%s: no values", path)
	}
	return out, nil
}

// readLabels reads a file of one label per line (blank lines and lines
// starting with # are skipped; surrounding space is trimmed).
func readLabels(path string) ([]string, error) {
	lines, err := readLines(path)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.text
	}
	if len(out) == 0 {
		return nil, usageErrorf("%s: no values", path)
	}
	return out, nil
}

type line struct {
	no   int
	text string
}

func readLines(path string) ([]line, error) {
	if path == "" {
		return nil, usageErrorf("a sample file is required")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	defer f.Close()
	var out []line
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		out = append(out, line{n, t})
	}
	if err := sc.Err(); err != nil {
		return nil, usageErrorf("%s: %v", path, err)
	}
	return out, nil
}
