package main

import (
	"slices"

	"github.com/spf13/cobra"
)

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
