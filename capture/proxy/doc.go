// Package proxy is the recording proxy of `reprise capture serve`: a
// reverse proxy in front of a running inference server that passes every
// request through unchanged and writes a decision record of each answered
// OpenAI chat/completions and KServe v2 infer request to a rotating
// Parquet decision log (record.ParquetWriter's schema, which nightly
// reads).
//
// The request path never waits on disk: a record, with the request and
// response bytes it keeps, goes onto a bounded queue (Writer); when the
// queue is full the record is dropped and counted, or, with OnFull Block,
// the request waits. The writer puts the blobs into the store (a
// store.Batch: written without fsync, made durable together once per
// segment), keeps up to SegmentRows records in memory and writes them,
// sorted by time, as one segment: the blobs committed first, then a
// temporary file, fsynced, renamed to seg-<time>-<seq>.parquet and the
// directory fsynced, so a record in a segment never names a blob that a
// crash can lose. A kill -9 loses at most the records in memory
// and on the queue (SegmentRows + QueueSize, LossBound); a segment is
// never half-written under its final name, so every segment is complete,
// and no record is in two segments. Close drains the queue.
//
// What is recorded is decided per request (Proxy): an oversized body, a
// body that is not JSON, an answer that is not 2xx or does not decode, an
// upstream error (answered 502 with a body that says so) and a client
// that goes away mid-answer are passed through as they are and counted by
// reason (Metrics), never recorded.
package proxy
