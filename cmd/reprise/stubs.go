package main

import "github.com/spf13/cobra"

func newStoreCmd(g *globalOptions, s *streams) *cobra.Command        { return &cobra.Command{Use: "store"} }
func newRecordCmd(g *globalOptions, s *streams) *cobra.Command       { return &cobra.Command{Use: "record"} }
func newVerifyCmd(g *globalOptions, s *streams) *cobra.Command       { return &cobra.Command{Use: "verify"} }
func newEnvCmd(g *globalOptions, s *streams) *cobra.Command          { return &cobra.Command{Use: "env"} }
func addReplayCmd(root *cobra.Command, g *globalOptions, s *streams) {}
