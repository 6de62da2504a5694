package main

import (
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/reprise-dev/reprise/record"
)

// flagValues are the values shell completion offers for a flag, by flag
// name; a flag whose name means another thing on some verb is keyed by the
// verb's path and the name ("reprise capture serve --input").
var flagValues = map[string][]string{
	"runner":                        {"docker", "process", "endpoint"},
	"format":                        {"text", "json"},
	"evals":                         {"auto", "on", "off"},
	"protocol":                      record.Protocols,
	"stratify":                      {"system"},
	"reprise capture serve --input": {"full", "hash-only"},
	"on-full":                       {"drop", "block"},
	"tier":                          {"full", "output", "hash"},
}

// registerCompletions gives every flag of c and its verbs that takes one
// of a few values (flagValues) those values in shell completion.
func registerCompletions(c *cobra.Command) {
	c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		vals, ok := flagValues[c.CommandPath()+" --"+f.Name]
		if !ok && f.Name != "input" {
			vals, ok = flagValues[f.Name]
		}
		if ok {
			_ = c.RegisterFlagCompletionFunc(f.Name, cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp))
		}
	})
	for _, sub := range c.Commands() {
		registerCompletions(sub)
	}
}

// storeless are the verbs that never open the artifact store: their help
// does not show the global --store.
var storeless = []string{"reprise version", "reprise env", "reprise clean", "reprise stats", "reprise completion",
	"reprise nightly history", "reprise nightly merge", "reprise compare merge", "reprise help"}

// hideStoreFlag hides the global --store in the help of the storeless
// verbs (and the verbs below them).
func hideStoreFlag(root *cobra.Command) {
	def := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		f := root.PersistentFlags().Lookup("store")
		if f == nil || !isStoreless(c) {
			def(c, args)
			return
		}
		f.Hidden = true
		defer func() { f.Hidden = false }()
		def(c, args)
	})
}

func isStoreless(c *cobra.Command) bool {
	for ; c != nil; c = c.Parent() {
		if slices.Contains(storeless, c.CommandPath()) {
			return true
		}
	}
	return false
}
