// Package store is reprise's content-addressed artifact store.
//
// Inputs, models, configs, eval suites and image archives are blobs
// addressed by their sha256 digest. Consumers depend on the small
// interfaces declared here: Reader (Open, ReadAll, CopyTo, Materialize,
// Verify), Writer
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
// # Trees
//
// A directory (a model snapshot, a retrieval index) is stored as a tree:
// each regular file as a blob, streamed (never read whole), and one OCI
// artifact manifest listing them (PutTree). The tree's digest, which a
// record holds as system.model.digest, system.config.digest or
// system.components.<name>, is the sha256 of that manifest's bytes. A
// single file stays a plain blob, so records of files keep working.
//
// The manifest is exactly these bytes (one line, no whitespace, no final
// newline):
//
//	{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
//	"artifactType":"application/vnd.reprise.tree.v1+json",
//	"config":{"mediaType":"application/vnd.oci.empty.v1+json",
//	"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},
//	"layers":[LAYER,LAYER,…]}
//
// (wrapped here), with one LAYER per regular file (also wrapped):
//
//	{"mediaType":"application/octet-stream","digest":"sha256:<hex of the file>","size":<bytes>,
//	"annotations":{"dev.reprise.mode":"<0444|0555>","org.opencontainers.image.title":"<path>"}}
//
// where:
//
//   - path: relative to the directory, "/"-separated, no "." or ".."
//     element; valid UTF-8 without control characters (U+0000–U+001F,
//     U+007F); in the JSON string only the quote and the backslash are
//     escaped (as \" and \\), and U+2028, U+2029 written as \u2028, \u2029;
//     every other character is itself;
//   - layers sorted by path, bytewise (so "a-b" comes before "a/b");
//   - mode: "0555" when the file has any execute bit, else "0444";
//     nothing else of the file's metadata (owner, times, other bits)
//     counts;
//   - empty directories are not kept, and a directory with no file at all
//     is refused.
//
// Symbolic links, named pipes, devices and sockets anywhere under the
// directory are refused (ErrTreeInput, naming the path); nothing is
// followed out of it (os.Root). Another tool recomputes a tree's digest
// from the files alone, e.g. in Python:
//
//	import hashlib, os
//	def tree_digest(root):
//	    files = sorted((os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/")
//	                    for d, _, fs in os.walk(root) for f in fs), key=lambda p: p.encode())
//	    layers = []
//	    for p in files:
//	        full = os.path.join(root, p)
//	        b = open(full, "rb").read()  # or hash in chunks
//	        mode = "0555" if os.stat(full).st_mode & 0o111 else "0444"
//	        title = p.replace("\\", "\\\\").replace('"', '\\"')  # backslash first
//	        title = title.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
//	        layers.append('{"mediaType":"application/octet-stream","digest":"sha256:%s","size":%d,'
//	                      '"annotations":{"dev.reprise.mode":"%s","org.opencontainers.image.title":"%s"}}'
//	                      % (hashlib.sha256(b).hexdigest(), len(b), mode, title))
//	    m = ('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
//	         '"artifactType":"application/vnd.reprise.tree.v1+json","config":{"mediaType":'
//	         '"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e86'
//	         '49e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[' + ",".join(layers) + "]}")
//	    return "sha256:" + hashlib.sha256(m.encode()).hexdigest()
//
// The system id is then computed from these digests as package system
// documents (a tree's digest stands where a file's would).
//
// In a Layout the tree manifest is listed in index.json as itself
// (artifactType application/vnd.reprise.tree.v1+json, titled with the
// directory's name); its files are blobs without entries of their own.
// Reads know trees by the manifest's first bytes (IsTreeManifest) and
// accept only the canonical form (ParseTree): Verify checks the manifest
// and every file, Materialize writes the directory back (folders and
// files read-only: 0555, 0444 or 0555), and a file missing or changed is
// an error wrapping ErrCorrupt that names its path in the tree. VerifyAll
// reports a tree's missing files and says which tree file a corrupt blob
// is.
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
// by rename), index.json and oci-layout 0644, a CopyTo copy 0444, a
// Materialize copy of a tree 0555 folders and 0444/0555 files.
// Directories are created 0755 less the umask, so a private umask keeps a
// store, which may hold personal data, private.
package store
