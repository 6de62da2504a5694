package main

import "github.com/spf13/cobra"

func addReplayCmd(root *cobra.Command, g *globalOptions, s *streams) {}
