package record

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// DefaultMaxPageSize is the largest uncompressed Parquet page (bytes) a
// reader accepts unless ParquetLimits raises it (the CLI's
// --max-page-size).
const DefaultMaxPageSize = 64 << 20

// maxPageHeader is the largest page header (bytes, statistics included)
// the check accepts: a header is decoded from a buffer of at most this
// size, so no length it declares allocates more.
const maxPageHeader = 1 << 20

// ParquetLimits bounds what a Parquet file may make a reader allocate.
type ParquetLimits struct {
	// MaxPageSize is the largest uncompressed page, in bytes, and the
	// most the largest pages of a row group's columns may add up to; 0 is
	// DefaultMaxPageSize. The footer and each page index may have
	// max(MaxPageSize, DefaultMaxPageSize) bytes.
	MaxPageSize int64
}

func (l ParquetLimits) maxPage() int64 {
	if l.MaxPageSize <= 0 {
		return DefaultMaxPageSize
	}
	return l.MaxPageSize
}

// ErrParquetLimit is wrapped by every *PageError: a Parquet file declares
// or holds more than a reader allows, or cannot be checked.
var ErrParquetLimit = errors.New("Parquet file refused")

// PageError is a Parquet page (or the footer, or a column chunk) refused
// before parquet-go decodes it: Column is the dotted column path and
// RowGroup the 0-based row group (-1 for the footer), Page the 0-based page
// of the chunk (-1 for the chunk itself).
type PageError struct {
	Column   string
	RowGroup int
	Page     int
	Reason   string
}

func (e *PageError) Error() string {
	if e.RowGroup < 0 {
		return fmt.Sprintf("%v: footer: %s", ErrParquetLimit, e.Reason)
	}
	if e.Column == "" {
		return fmt.Sprintf("%v: row group %d: %s", ErrParquetLimit, e.RowGroup, e.Reason)
	}
	where := fmt.Sprintf("column %s, row group %d", e.Column, e.RowGroup)
	if e.Page >= 0 {
		where += fmt.Sprintf(", page %d", e.Page)
	}
	return fmt.Sprintf("%v: %s: %s", ErrParquetLimit, where, e.Reason)
}

func (e *PageError) Unwrap() error { return ErrParquetLimit }

// OpenParquet checks the Parquet file in r (size bytes) with CheckParquet
// and opens it with parquet-go (no page index, no bloom filters read). An
// error from the check is a *PageError; ctx stops the check.
func OpenParquet(ctx context.Context, r io.ReaderAt, size int64, lim ParquetLimits) (*parquet.File, error) {
	if err := CheckParquet(ctx, r, size, lim); err != nil {
		return nil, err
	}
	return parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
}

// CheckParquet reads the footer and every page header of every column
// chunk of the Parquet file in r (size bytes), and refuses (a *PageError)
// a file parquet-go would let allocate more than lim allows: a footer, page
// index or page header out of the file or over the limit, a page that
// declares more uncompressed bytes than its column chunk's
// total_uncompressed_size or lim.MaxPageSize, more values than
// MaxPageSize/8, or that really decompresses to more than it declares
// (decoded into a counter, never held), a row group whose columns' largest
// pages (a dictionary page and a data page each) add up to more than
// MaxPageSize (what a reader of every column holds at once), a codec other than SNAPPY, GZIP,
// BROTLI, ZSTD, LZ4_RAW or none, an encrypted column. A file that is not
// Parquet at all is left to parquet-go. It stops with ctx.Err() between
// pages. Memory: one page header buffer (1 MiB at most) and one decoder
// (a zstd window, or one LZ4_RAW page, of at most MaxPageSize).
func CheckParquet(ctx context.Context, r io.ReaderAt, size int64, lim ParquetLimits) error {
	md, dataEnd, err := readFooter(r, size, max(lim.maxPage(), DefaultMaxPageSize))
	if err != nil || md == nil {
		return err
	}
	c := &checker{ctx: ctx, r: &readAhead{r: r, size: dataEnd}, size: dataEnd, max: lim.maxPage(), maxIndex: max(lim.maxPage(), DefaultMaxPageSize)}
	defer c.close()
	for gi := range md.RowGroups {
		cols := md.RowGroups[gi].Columns
		// First what the headers declare (cheap), then the real sizes.
		var held int64
		pages := make([][]pageAt, len(cols))
		for ci := range cols {
			n, err := c.chunk(gi, &cols[ci], &pages[ci])
			if err != nil {
				return err
			}
			held += n
		}
		if held > c.max {
			return &PageError{RowGroup: gi, Page: -1, Reason: fmt.Sprintf("the largest pages of its columns add up to %d bytes, over the page size limit of %d bytes (--max-page-size raises it)", held, c.max)}
		}
		for ci := range cols {
			if err := c.decodeChunk(gi, &cols[ci], pages[ci]); err != nil {
				return err
			}
		}
	}
	return nil
}

// readFooter decodes the footer; a file too short or without the magic is
// not refused here (md nil): parquet-go says what is wrong with it.
func readFooter(r io.ReaderAt, size, max int64) (*format.FileMetaData, int64, error) {
	footerErr := func(format string, a ...any) error {
		return &PageError{RowGroup: -1, Page: -1, Reason: fmt.Sprintf(format, a...)}
	}
	if size < 12 {
		return nil, 0, nil
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil || string(tail[4:]) != "PAR1" {
		return nil, 0, nil
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n > size-12 {
		return nil, 0, footerErr("declares %d bytes, more than the file holds (%d bytes)", n, size)
	}
	if n > max {
		return nil, 0, footerErr("%d bytes, over the limit of %d bytes (--max-page-size raises it)", n, max)
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, size-8-n); err != nil {
		return nil, 0, footerErr("%v", err)
	}
	var md format.FileMetaData
	var proto thrift.CompactProtocol
	if err := thrift.NewDecoder(proto.NewReaderFromBytes(b)).Decode(&md); err != nil {
		return nil, 0, footerErr("malformed: %v", err)
	}
	return &md, size - 8 - n, nil
}

type checker struct {
	ctx  context.Context
	r    io.ReaderAt
	size int64 // the end of the data (where the footer starts)
	max  int64
	// maxIndex bounds a page index
	maxIndex int64
	hdr      []byte
	zstd     *zstd.Decoder
	lz4      []byte
}

func (c *checker) close() {
	if c.zstd != nil {
		c.zstd.Close()
	}
}

// chunk walks the pages of one column chunk, checking what each declares
// and, with decode, what it really decompresses to. It returns the most a
// reader holds of the chunk at once: its largest dictionary page and its
// largest data page (the larger of compressed and uncompressed sizes).
func (c *checker) chunk(gi int, cc *format.ColumnChunk, pages *[]pageAt) (int64, error) {
	md := &cc.MetaData
	bad := chunkError(gi, md)
	if len(cc.EncryptedColumnMetadata) > 0 || cc.CryptoMetadata.Value != nil {
		return 0, bad(-1, "encrypted columns are not supported")
	}
	if !supportedCodec(md.Codec) {
		return 0, bad(-1, "codec %s is not supported", md.Codec)
	}
	for _, ix := range [][2]int64{{cc.OffsetIndexOffset, int64(cc.OffsetIndexLength)}, {cc.ColumnIndexOffset, int64(cc.ColumnIndexLength)}} {
		if ix[1] == 0 {
			continue
		}
		if ix[0] < 0 || ix[1] < 0 || ix[0]+ix[1] > c.size || ix[1] > c.maxIndex {
			return 0, bad(-1, "page index of %d bytes at %d: out of the file or over the limit of %d bytes (--max-page-size raises it)", ix[1], ix[0], c.maxIndex)
		}
	}
	start := md.DataPageOffset
	if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
		start = md.DictionaryPageOffset
	}
	end := start + md.TotalCompressedSize
	if start < 4 || md.TotalCompressedSize < 0 || end > c.size || end < start {
		return 0, bad(-1, "column chunk of %d bytes at offset %d lies outside the file", md.TotalCompressedSize, start)
	}
	if md.TotalUncompressedSize < 0 {
		return 0, bad(-1, "negative total_uncompressed_size %d", md.TotalUncompressedSize)
	}
	var dict, data int64
	for page, pos := 0, start; pos < end; page++ {
		if err := c.ctx.Err(); err != nil {
			return 0, err
		}
		h, n, err := c.header(pos, end)
		if err != nil {
			return 0, bad(page, "page header at offset %d: %v", pos, err)
		}
		pos += n
		if h.CompressedPageSize < 0 || h.UncompressedPageSize < 0 || pos+int64(h.CompressedPageSize) > end {
			return 0, bad(page, "page sizes (compressed %d, uncompressed %d) out of its column chunk", h.CompressedPageSize, h.UncompressedPageSize)
		}
		if err := c.page(h, pos, md, false); err != nil {
			return 0, bad(page, "%v", err)
		}
		*pages = append(*pages, pageAt{h, pos})
		held := max(int64(h.CompressedPageSize), int64(h.UncompressedPageSize))
		if h.Type == format.DictionaryPage {
			dict = max(dict, held)
		} else {
			data = max(data, held)
		}
		pos += int64(h.CompressedPageSize)
	}
	return dict + data, nil
}

// pageAt is a page header and where its data starts.
type pageAt struct {
	h   *format.PageHeader
	pos int64
}

// chunkError makes the *PageError of a page (-1: the chunk) of the
// column chunk md of row group gi.
func chunkError(gi int, md *format.ColumnMetaData) func(page int, format string, a ...any) error {
	col := strings.Join(md.PathInSchema, ".")
	return func(page int, format string, a ...any) error {
		return &PageError{Column: col, RowGroup: gi, Page: page, Reason: fmt.Sprintf(format, a...)}
	}
}

// decodeChunk checks the real size of the data of each page of the column
// chunk cc (its headers, read by chunk, in pages).
func (c *checker) decodeChunk(gi int, cc *format.ColumnChunk, pages []pageAt) error {
	bad := chunkError(gi, &cc.MetaData)
	for i, p := range pages {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		if err := c.page(p.h, p.pos, &cc.MetaData, true); err != nil {
			return bad(i, "%v", err)
		}
	}
	return nil
}

func supportedCodec(c format.CompressionCodec) bool {
	switch c {
	case format.Uncompressed, format.Snappy, format.Gzip, format.Brotli, format.Zstd, format.Lz4Raw:
		return true
	}
	return false
}

// header decodes the page header at pos from a buffer of at most
// maxPageHeader bytes, and returns it with its length.
func (c *checker) header(pos, end int64) (*format.PageHeader, int64, error) {
	want := min(end-pos, 16<<10)
	for {
		if int64(cap(c.hdr)) < want {
			c.hdr = make([]byte, want)
		}
		b := c.hdr[:want]
		if _, err := c.r.ReadAt(b, pos); err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, err
		}
		var proto thrift.CompactProtocol
		pr := proto.NewReaderFromBytes(b)
		h := new(format.PageHeader)
		err := thrift.NewDecoder(pr).Decode(h)
		if err == nil {
			return h, int64(pr.BytesRead()), nil
		}
		if want == end-pos || want >= maxPageHeader || !errors.Is(err, io.ErrUnexpectedEOF) {
			if want >= maxPageHeader {
				return nil, 0, fmt.Errorf("malformed, or larger than %d bytes: %v", maxPageHeader, err)
			}
			return nil, 0, fmt.Errorf("malformed: %v", err)
		}
		want = min(end-pos, 4*want, maxPageHeader)
	}
}

// page checks what one page declares and, with decode, the real size of
// its data, whose compressed bytes start at pos.
func (c *checker) page(h *format.PageHeader, pos int64, md *format.ColumnMetaData, decode bool) error {
	declared := int64(h.UncompressedPageSize)
	if declared > md.TotalUncompressedSize {
		return fmt.Errorf("declares %d bytes uncompressed, more than its column chunk's total_uncompressed_size (%d)", declared, md.TotalUncompressedSize)
	}
	if declared > c.max {
		return fmt.Errorf("declares %d bytes uncompressed, over the page size limit of %d bytes (--max-page-size raises it)", declared, c.max)
	}
	body, levels := int64(h.CompressedPageSize), int64(0)
	compressed := md.Codec != format.Uncompressed
	var values int64
	switch h.Type {
	case format.DataPage:
		values = int64(h.DataPageHeader.V.NumValues)
	case format.DictionaryPage:
		values = int64(h.DictionaryPageHeader.V.NumValues)
	case format.DataPageV2:
		v2 := &h.DataPageHeaderV2.V
		values = int64(v2.NumValues)
		levels = int64(v2.RepetitionLevelsByteLength) + int64(v2.DefinitionLevelsByteLength)
		if v2.RepetitionLevelsByteLength < 0 || v2.DefinitionLevelsByteLength < 0 || levels > body || levels > declared {
			return fmt.Errorf("level lengths (%d, %d) out of the page", v2.RepetitionLevelsByteLength, v2.DefinitionLevelsByteLength)
		}
		compressed = compressed && (!v2.IsCompressed.Valid || v2.IsCompressed.V)
	default:
		return nil // index pages are skipped by readers
	}
	if values < 0 || values > c.max/8 {
		return fmt.Errorf("declares %d values, over the limit of %d (--max-page-size/8; --max-page-size raises it)", values, c.max/8)
	}
	if !compressed || !decode {
		return nil
	}
	limit := declared - levels
	n, err := c.decodedLen(md.Codec, io.NewSectionReader(c.r, pos+levels, body-levels), limit)
	if err != nil {
		return fmt.Errorf("%s data does not decompress: %v", md.Codec, err)
	}
	if n > limit {
		return fmt.Errorf("%s data decompresses to more than the %d bytes it declares", md.Codec, limit)
	}
	return nil
}

// errOver stops a counting writer past its limit.
var errOver = errors.New("over the declared size")

type counter struct{ n, limit int64 }

func (w *counter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	if w.n > w.limit {
		return 0, errOver
	}
	return len(p), nil
}

// decodedLen is the decompressed length of src, or limit+1 once it is
// known to exceed limit; nothing decoded is kept beyond a window.
func (c *checker) decodedLen(codec format.CompressionCodec, src *io.SectionReader, limit int64) (int64, error) {
	var rd io.Reader
	switch codec {
	case format.Snappy:
		var head [binary.MaxVarintLen64]byte
		k, _ := src.ReadAt(head[:], 0)
		n, err := snappy.DecodedLen(head[:k])
		return int64(n), err
	case format.Lz4Raw:
		return c.lz4Len(src, limit)
	case format.Zstd:
		if n, ok := zstdContentSize(src); ok && n <= limit {
			return n, nil // every frame states its size, and the reader's decoder stops at it
		}
		if c.zstd == nil {
			d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
				zstd.WithDecoderMaxWindow(uint64(max(c.max, 1<<20))), zstd.WithDecoderMaxMemory(uint64(max(c.max, 1<<20))))
			if err != nil {
				return 0, err
			}
			c.zstd = d
		}
		if err := c.zstd.Reset(src); err != nil {
			return 0, err
		}
		rd = c.zstd
	case format.Gzip:
		z, err := gzip.NewReader(bufio.NewReader(src))
		if err != nil {
			return 0, err
		}
		defer z.Close()
		rd = z
	case format.Brotli:
		rd = brotli.NewReader(src)
	default:
		return 0, fmt.Errorf("codec %s is not supported", codec)
	}
	w := &counter{limit: limit}
	_, err := io.Copy(w, rd)
	if errors.Is(err, errOver) || errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return limit + 1, nil
	}
	return w.n, err
}

// lz4Len decodes an LZ4_RAW block into a buffer of limit bytes (parquet-go
// retries a failing block with ever larger buffers: only a block that
// decodes within its declared size is let through).
func (c *checker) lz4Len(src *io.SectionReader, limit int64) (int64, error) {
	if src.Size() > c.max+c.max/8 {
		return limit + 1, nil
	}
	in := make([]byte, src.Size())
	if _, err := io.ReadFull(src, in); err != nil {
		return 0, err
	}
	if int64(cap(c.lz4)) < limit {
		c.lz4 = make([]byte, limit)
	}
	n, err := lz4.UncompressBlock(in, c.lz4[:limit])
	if err != nil {
		return 0, fmt.Errorf("does not decode within the %d bytes it declares: %v", limit, err)
	}
	return int64(n), nil
}

// zstdContentSize is the sum of the Frame_Content_Size of the zstd frames
// in src, read from their headers and block headers alone (RFC 8878: no
// block is decompressed), and whether every frame states one and the
// frames fill src exactly. parquet-go decodes a page with klauspost's
// DecodeAll, whose frame decoder stops a frame once it exceeds its stated
// size (ErrFrameSizeExceeded, checked after every block of at most 128
// KiB): a page whose frames state at most its declared size cannot
// decompress to much more, so it needs no trial decode. A page whose
// frames do not all state a size is decoded (decodedLen).
func zstdContentSize(src *io.SectionReader) (int64, bool) {
	var total int64
	pos, end := int64(0), src.Size()
	var b [14]byte
	for pos < end {
		if _, err := src.ReadAt(b[:4], pos); err != nil {
			return 0, false
		}
		magic := binary.LittleEndian.Uint32(b[:4])
		if magic&0xFFFFFFF0 == 0x184D2A50 { // a skippable frame: no output
			if _, err := src.ReadAt(b[:8], pos); err != nil {
				return 0, false
			}
			pos += 8 + int64(binary.LittleEndian.Uint32(b[4:8]))
			continue
		}
		if magic != 0xFD2FB528 {
			return 0, false
		}
		n, _ := src.ReadAt(b[:], pos+4)
		if n < 1 {
			return 0, false
		}
		fhd := b[0]
		single := fhd&0x20 != 0
		if fhd&0x08 != 0 {
			return 0, false // reserved bit set
		}
		off := 1
		if !single {
			off++ // Window_Descriptor
		}
		off += []int{0, 1, 2, 4}[fhd&3] // Dictionary_ID
		fcsLen := []int{0, 2, 4, 8}[fhd>>6]
		if fcsLen == 0 && single {
			fcsLen = 1
		}
		if fcsLen == 0 || off+fcsLen > n {
			return 0, false // no stated size
		}
		var fcs uint64
		for i := fcsLen - 1; i >= 0; i-- {
			fcs = fcs<<8 | uint64(b[off+i])
		}
		if fcsLen == 2 {
			fcs += 256
		}
		if fcs > math.MaxInt64-uint64(total) {
			return 0, false
		}
		total += int64(fcs)
		pos += 4 + int64(off+fcsLen)
		for last := false; !last; { // the blocks: 3-byte headers
			if _, err := src.ReadAt(b[:3], pos); err != nil {
				return 0, false
			}
			h := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
			last = h&1 != 0
			size := int64(h >> 3)
			switch (h >> 1) & 3 {
			case 0, 2: // raw, compressed: size bytes follow
				pos += 3 + size
			case 1: // RLE: one byte follows
				pos += 4
			default:
				return 0, false
			}
			if pos > end {
				return 0, false
			}
		}
		if fhd&0x04 != 0 {
			pos += 4 // Content_Checksum
		}
	}
	return total, pos == end
}

// readAhead serves small reads that move forward through a file (page
// headers, zstd frame and block headers) from one window of
// readAheadBytes, so the check makes a read per window, not one per
// header; a read larger than the window, or behind it, goes to r.
type readAhead struct {
	r     io.ReaderAt
	size  int64 // reads end here
	buf   []byte
	start int64 // buf holds [start, start+len(buf))
}

const readAheadBytes = 1 << 20

func (ra *readAhead) ReadAt(p []byte, off int64) (int, error) {
	if len(p) > readAheadBytes/4 || off < 0 {
		return ra.r.ReadAt(p, off)
	}
	if off < ra.start || off+int64(len(p)) > ra.start+int64(len(ra.buf)) {
		if ra.buf == nil {
			ra.buf = make([]byte, readAheadBytes)
		}
		n := min(int64(readAheadBytes), max(0, ra.size-off))
		k, err := ra.r.ReadAt(ra.buf[:n], off)
		ra.buf, ra.start = ra.buf[:k], off
		if k < len(p) {
			if err == nil {
				err = io.EOF
			}
			return copy(p, ra.buf), err
		}
	}
	return copy(p, ra.buf[off-ra.start:]), nil
}
