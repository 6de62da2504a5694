package store

import (
	"crypto/sha256"
	"hash"

	"github.com/reprise-dev/reprise/digest"
)

type hasher struct{ hash.Hash }

func newHasher() hasher { return hasher{sha256.New()} }

func (h hasher) digest() digest.Digest { return digest.FromHash(h.Hash) }
