package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/store"
)

// openStore opens an existing store for reading (verify, replay, store get,
// ls, verify); it never creates one. A missing or invalid store is a usage
// error naming it.
func openStore(g *globalOptions) (*store.Layout, error) {
	st, err := store.Open(g.storeDir())
	if err != nil {
		return nil, usageErrorf("--store %s: %w", g.storeDir(), err)
	}
	return st, nil
}

// initStore opens the store for writing (store put, record create),
// creating an empty one where there is none.
func initStore(g *globalOptions) (*store.Layout, error) {
	st, err := store.Init(g.storeDir())
	if err != nil {
		return nil, usageErrorf("--store %s: %w", g.storeDir(), err)
	}
	return st, nil
}

func newStoreCmd(g *globalOptions, s *streams) *cobra.Command {
	return newGroup("store", "Put, get, list and verify blobs in the content-addressed artifact store",
		`The artifact store is an OCI image layout directory (oci-layout, index.json,
blobs/sha256/<hex>). Location: --store DIR, else $REPRISE_STORE, else .reprise/store.`,
		newStorePutCmd(g, s), newStoreGetCmd(g, s), newStoreLsCmd(g, s), newStoreVerifyCmd(g, s))
}

type storePutOptions struct {
	MediaType string
	Name      string
}

func newStorePutCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &storePutOptions{}
	cmd := newCommand("put FILE...", "Store files; prints each digest (sha256:…) on stdout",
		`Store files (or "-" for stdin) and print the digest of each, one per line.
Putting the same bytes twice is a no-op.`, cobra.MinimumNArgs(1),
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
	if o.Out != "" {
		tmp := o.Out + ".reprise-tmp"
		os.Remove(tmp)
		if err := st.CopyTo(ctx, d, tmp); err != nil {
			return fmt.Errorf("get %s: %w", d, err)
		}
		if err := os.Chmod(tmp, 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, o.Out)
	}
	// To stdout: a verified private copy first, so not one byte of a blob
	// that turns out corrupt (or is swapped while read) is ever printed.
	dir, err := os.MkdirTemp("", "reprise-get-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "blob")
	if err := st.CopyTo(ctx, d, tmp); err != nil {
		return fmt.Errorf("get %s: %w", d, err)
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(s.Out, f)
	return err
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
	addOutputFlag(cmd, &f, outputText)
	return cmd
}

func newStoreLsCmd(g *globalOptions, s *streams) *cobra.Command {
	return newStoreReadCmd(g, s, "ls", "List blobs with size, media type and name", runStoreLs)
}

func runStoreLs(ctx context.Context, s *streams, st *store.Layout, f outputFormat) error {
	entries, err := st.List(ctx)
	if err != nil {
		return err
	}
	if f == outputJSON {
		if entries == nil {
			entries = []store.Entry{}
		}
		return writeJSON(s.Out, entries)
	}
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DIGEST\tSIZE\tMEDIA TYPE\tNAME")
	for _, e := range entries {
		d := e.Digest.String()
		if e.Digest.IsZero() {
			d = "(misnamed)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", d, e.Size, dash(e.MediaType), dash(e.Name))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newStoreVerifyCmd(g *globalOptions, s *streams) *cobra.Command {
	return newStoreReadCmd(g, s, "verify", "Re-hash every blob; exit 4 naming every corrupt or misnamed blob", runStoreVerify)
}

func runStoreVerify(ctx context.Context, s *streams, st *store.Layout, f outputFormat) error {
	bad, err := st.VerifyAll(ctx)
	if err != nil {
		return err
	}
	entries, _ := st.List(ctx)
	if f == outputJSON {
		if bad == nil {
			bad = []store.BadBlob{}
		}
		if err := writeJSON(s.Out, map[string]any{"store": st.Root(), "blobs": len(entries), "ok": len(bad) == 0, "bad": bad}); err != nil {
			return err
		}
	} else {
		for _, b := range bad {
			fmt.Fprintf(s.Out, "%s: %s\n", filepath.Join(st.Root(), b.Path), b.Problem)
		}
		if len(bad) == 0 {
			fmt.Fprintf(s.Out, "%s: %d blobs intact\n", st.Root(), len(entries))
		}
	}
	if len(bad) > 0 {
		if f == outputText {
			fmt.Fprintf(s.Err, "reprise: store verify: %d of %d blobs bad\n", len(bad), len(entries))
		}
		return &silentError{exitIntegrity}
	}
	return nil
}
