// Package store is reprise's content-addressed artifact store.
//
// Inputs, models, configs, eval suites and image archives are blobs
// addressed by their sha256 digest. Consumers depend on the small
// interfaces declared here: Reader (Open, ReadAll, CopyTo, Verify), Writer
// (Put, PutBytes) and Store (both, plus List and VerifyAll). Two
// implementations pass the same conformance suite (package storetest):
//
//   - Layout, an OCI image layout directory (oci-layout, index.json,
//     blobs/sha256/<hex>) so standard OCI tools can read it. Each blob put
//     with a media type or name also gets a small OCI artifact manifest
//     (artifactType = the blob's media type, one layer = the blob,
//     annotation org.opencontainers.image.title = the name) listed in
//     index.json, which is how List knows media types and names.
//   - Mem, an in-memory store for tests.
//
// Every read verifies while it streams: the reader returned by Open hashes
// the bytes as they pass and, at the end, reports an error wrapping
// ErrCorrupt instead of io.EOF when they do not hash to the digest asked
// for. ReadAll, CopyTo and Verify read through the same reader, so a blob is
// never verified first and then reopened: a blob changed between a check and
// a use fails the use. Every read stops when its context is done.
//
// Readers open a Layout with Open, which never creates anything and reports
// ErrNoStore for a missing directory; writers use Init, which creates an
// empty layout in a new or empty directory.
//
// Layout writes are atomic: bytes go to a temporary file under ingest/, are
// fsynced and renamed into place; index.json is rewritten the same way under
// an exclusive file lock, so several processes can put concurrently.
//
// File modes are explicit and do not depend on the umask: blobs are 0444
// (content-addressed, never changed in place; Put replaces a damaged one
// by rename), index.json and oci-layout 0644, a CopyTo copy 0444.
// Directories are created 0755 less the umask, so a private umask keeps a
// store, which may hold personal data, private.
package store
