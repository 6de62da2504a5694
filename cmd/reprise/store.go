package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/store"
)

// openStore opens an existing store for reading (verify, replay, store get,
// ls, verify); it never creates one. A missing or invalid store is a usage
// error naming it.
func openStore(g *globalOptions) (*store.Layout, error) { return storeAt(g, store.Open) }

// initStore opens the store for writing (store put, record create),
// creating an empty one where there is none.
func initStore(g *globalOptions) (*store.Layout, error) { return storeAt(g, store.Init) }

// storeAt opens the store of g with open; its error is a usage error.
func storeAt(g *globalOptions, open func(string) (*store.Layout, error)) (*store.Layout, error) {
	st, err := open(g.storeDir())
	if err != nil {
		return nil, usageErrorf("--store %s: %w", g.storeDir(), err)
	}
	return st, nil
}

func newStoreCmd(g *globalOptions, s *streams) *cobra.Command {
	return newGroup("store", "Put, get, list and verify blobs in the content-addressed artifact store",
		help("store"),
		newStorePutCmd(g, s), newStoreGetCmd(g, s), newStoreReadCmd(g, s, "ls", "List blobs with size, media type and name", runStoreLs),
		newStoreReadCmd(g, s, "verify", "Re-hash every blob; exit 4 naming every corrupt or misnamed blob", runStoreVerify))
}

type storePutOptions struct {
	MediaType string
	Name      string
}

func newStorePutCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &storePutOptions{}
	cmd := newCommand("put FILE...", "Store files; prints each digest (sha256:…) on stdout",
		help("store-put"), cobra.MinimumNArgs(1),
		func(ctx context.Context, args []string) error { return runStorePut(ctx, g, s, o, args) })
	cmd.Flags().StringVar(&o.MediaType, "media-type", "", "media type to record (default: guessed from the file extension)")
	cmd.Flags().StringVar(&o.Name, "name", "", "name to record (default: the file's base name)")
	return cmd
}

func runStorePut(ctx context.Context, g *globalOptions, s *streams, o *storePutOptions, files []string) error {
	st, err := initStore(g)
	if err != nil {
		return err
	}
	for _, f := range files {
		d, err := capture.PutFile(ctx, st, s.In, f, o.MediaType, o.Name, "file")
		if err != nil {
			return err
		}
		fmt.Fprintln(s.Out, d)
	}
	return nil
}

type storeGetOptions struct{ Out string }

func newStoreGetCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &storeGetOptions{}
	cmd := newCommand("get DIGEST", "Write a blob's bytes to stdout (or -o FILE), after verifying them", "", cobra.ExactArgs(1),
		func(ctx context.Context, args []string) error { return runStoreGet(ctx, g, s, o, args[0]) })
	addDestFlag(cmd, &o.Out, "FILE", "write to FILE instead of stdout")
	return cmd
}

func runStoreGet(ctx context.Context, g *globalOptions, s *streams, o *storeGetOptions, arg string) error {
	st, err := openStore(g)
	if err != nil {
		return err
	}
	d, err := store.Resolve(ctx, st, arg)
	if err != nil {
		return usageErrorf("DIGEST: %v", err)
	}
	return st.CopyOut(ctx, d, o.Out, s.Out)
}

// newStoreReadCmd is a store verb without arguments that reads the
// existing store and prints its result in --output's format.
func newStoreReadCmd(g *globalOptions, s *streams, use, short string, run func(ctx context.Context, s *streams, st *store.Layout, f outputFormat) error) *cobra.Command {
	var f outputFormat
	cmd := newCommand(use, short, "", cobra.NoArgs, func(ctx context.Context, _ []string) error {
		st, err := openStore(g)
		if err != nil {
			return err
		}
		return run(ctx, s, st, f)
	})
	addFormatFlag(cmd, &f, outputText)
	return cmd
}

func runStoreLs(ctx context.Context, s *streams, st *store.Layout, f outputFormat) error {
	entries, err := st.List(ctx)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []store.Entry{}
	}
	l := store.Listing(entries)
	return writeResult(s.Out, f, l, l.WriteText)
}

func runStoreVerify(ctx context.Context, s *streams, st *store.Layout, f outputFormat) error {
	v, err := st.VerifyEvery(ctx)
	if err != nil {
		return err
	}
	if err := writeResult(s.Out, f, v, v.WriteText); err != nil {
		return err
	}
	if !v.OK {
		if f == outputText {
			fmt.Fprintf(s.Err, "reprise: store verify: %d of %d blobs bad\n", len(v.Bad), v.Blobs)
		}
		return &silentError{exitIntegrity}
	}
	return nil
}
