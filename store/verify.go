package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/reprise-dev/reprise/digest"
)

// verifyingReader hashes the bytes it reads and, at the end of the blob,
// returns an error wrapping ErrCorrupt instead of io.EOF when they do not
// hash to want (as go-containerregistry's verify.ReadCloser). Each Read
// first checks ctx. Errors are sticky.
type verifyingReader struct {
	ctx  context.Context
	r    io.Reader
	c    io.Closer
	want digest.Digest
	h    hash.Hash
	n    int64 // bytes read so far
	err  error
}

func newVerifyingReader(ctx context.Context, r io.Reader, c io.Closer, want digest.Digest) *verifyingReader {
	return &verifyingReader{ctx: ctx, r: r, c: c, want: want, h: sha256.New()}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if err := v.ctx.Err(); err != nil {
		v.err = fmt.Errorf("read %s: %w", v.want, err)
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case err == io.EOF:
		if got := digest.FromHash(v.h); got != v.want {
			v.err = fmt.Errorf("%s: %w: its %d bytes hash to %s", v.want, ErrCorrupt, v.n, got)
			return n, v.err
		}
		v.err = io.EOF
	case err != nil:
		v.err = fmt.Errorf("read %s: %w", v.want, err)
	}
	return n, v.err
}

func (v *verifyingReader) Close() error { return v.c.Close() }

// opener is the one method every read is built on.
type opener interface {
	Open(ctx context.Context, d digest.Digest) (io.ReadCloser, int64, error)
}

// readers implements the Reader methods built on Open (ReadAll, CopyTo,
// Materialize, Verify) for the store o; Layout and Mem embed one that
// points at themselves.
type readers struct{ o opener }

// ReadAll implements Reader.
func (r readers) ReadAll(ctx context.Context, d digest.Digest) ([]byte, error) {
	return readAll(ctx, r.o, d)
}

// CopyTo implements Reader.
func (r readers) CopyTo(ctx context.Context, d digest.Digest, dst string) error {
	return copyTo(ctx, r.o, d, dst)
}

// Materialize implements Reader.
func (r readers) Materialize(ctx context.Context, d digest.Digest, dst string) error {
	return materialize(ctx, r.o, d, dst)
}

// Verify implements Reader.
func (r readers) Verify(ctx context.Context, d digest.Digest) (int64, error) {
	return verifyArtifact(ctx, r.o, d)
}

// readAll implements Reader.ReadAll on top of Open.
func readAll(ctx context.Context, o opener, d digest.Digest) ([]byte, error) {
	rc, size, err := o.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > MaxReadAll {
		return nil, fmt.Errorf("%s: %w: %d bytes, at most %d", d, ErrTooLarge, size, MaxReadAll)
	}
	var buf bytes.Buffer
	buf.Grow(int(size) + bytes.MinRead)
	// The limit only cuts a blob that grew past MaxReadAll after Open; any
	// other read runs to the verifying reader's own end.
	if _, err := buf.ReadFrom(io.LimitReader(rc, MaxReadAll+1)); err != nil {
		return nil, err
	}
	if buf.Len() > MaxReadAll {
		return nil, fmt.Errorf("%s: %w: more than %d bytes", d, ErrTooLarge, MaxReadAll)
	}
	return buf.Bytes(), nil
}

// verify implements Reader.Verify on top of Open.
func verify(ctx context.Context, o opener, d digest.Digest) (int64, error) {
	rc, _, err := o.Open(ctx, d)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}

// copyTo implements Reader.CopyTo on top of Open.
func copyTo(ctx context.Context, o opener, d digest.Digest, dst string) error {
	rc, _, err := o.Open(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	return writeCopy(rc, d, dst)
}

// writeCopy writes r, blob d's verifying reader, to a new file dst (mode
// 0444), removed on any error.
func writeCopy(r io.Reader, d digest.Digest, dst string) (err error) {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444)
	if err != nil {
		return fmt.Errorf("copy %s: %w", d, err)
	}
	defer func() {
		if err != nil {
			os.Remove(dst)
		}
	}()
	// The umask must not narrow the mode: the reader may be a container
	// running as another user.
	if err = out.Chmod(0o444); err == nil {
		_, err = io.Copy(out, r)
	}
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("copy %s: %w", d, cerr)
	}
	return err
}
