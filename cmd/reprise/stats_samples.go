package main

import "github.com/spf13/cobra"

// addStatsSampleCommands adds ks, mwu, ad, energy, mmd, wilcoxon, bootstrap.
func addStatsSampleCommands(parent *cobra.Command, s *streams) {}
