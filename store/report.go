package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/reprise-dev/reprise/digest"
)

// CopyOut writes the verified bytes of blob d to path or, when path is "",
// to w. A file is written under a temporary name and renamed (mode 0644);
// w gets a verified private copy, so not one byte of a blob that turns out
// corrupt (or is swapped while read) is written to it.
func (s *Layout) CopyOut(ctx context.Context, d digest.Digest, path string, w io.Writer) error {
	if path != "" {
		tmp := path + ".reprise-tmp"
		os.Remove(tmp)
		if err := s.CopyTo(ctx, d, tmp); err != nil {
			return fmt.Errorf("get %s: %w", d, err)
		}
		if err := os.Chmod(tmp, 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, path)
	}
	dir, err := os.MkdirTemp("", "reprise-get-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "blob")
	if err := s.CopyTo(ctx, d, tmp); err != nil {
		return fmt.Errorf("get %s: %w", d, err)
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// Listing is the blobs of a store, as store ls prints them.
type Listing []Entry

// WriteText writes the listing as a table: digest ("(misnamed)" for a file
// whose name is not one), size in bytes, media type and name ("-" when
// unknown).
func (l Listing) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DIGEST\tSIZE\tMEDIA TYPE\tNAME")
	for _, e := range l {
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

// Verification is the result of re-hashing every blob of a store.
type Verification struct {
	Bad   []BadBlob `json:"bad"`
	Blobs int       `json:"blobs"`
	OK    bool      `json:"ok"`
	Store string    `json:"store"`
}

// VerifyEvery re-hashes every blob of s (VerifyAll) and counts them.
func (s *Layout) VerifyEvery(ctx context.Context) (Verification, error) {
	bad, err := s.VerifyAll(ctx)
	if err != nil {
		return Verification{}, err
	}
	entries, _ := s.List(ctx)
	if bad == nil {
		bad = []BadBlob{}
	}
	return Verification{Bad: bad, Blobs: len(entries), OK: len(bad) == 0, Store: s.Root()}, nil
}

// WriteText writes one line per bad blob (its path and problem) or, when
// every blob is intact, says so.
func (v Verification) WriteText(w io.Writer) error {
	for _, b := range v.Bad {
		fmt.Fprintf(w, "%s: %s\n", filepath.Join(v.Store, b.Path), b.Problem)
	}
	if v.OK {
		_, err := fmt.Fprintf(w, "%s: %d blobs intact\n", v.Store, v.Blobs)
		return err
	}
	return nil
}
