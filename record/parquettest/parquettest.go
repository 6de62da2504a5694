// Package parquettest builds hostile Parquet files for the tests of every
// Parquet reader: decompression bombs (a page that declares, or decodes
// to, far more bytes than the file holds) made from a small valid file by
// patching one page header and its data.
package parquettest

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// ZstdZeros is a zstd frame that decodes to n zero bytes, made of RLE
// blocks of 128 KiB (4 bytes each): 1 GiB is 32 KiB of frame. The frame
// does not declare its content size, so a decoder learns it only by
// decoding.
func ZstdZeros(n int64) []byte {
	const block = 128 << 10
	var b bytes.Buffer
	b.Write([]byte{0x28, 0xb5, 0x2f, 0xfd}) // magic
	b.WriteByte(0x00)                       // no content size, not single segment, no checksum
	b.WriteByte(0x38)                       // window 128 KiB (exponent 7)
	for n > 0 {
		k := min(n, block)
		n -= k
		h := uint32(k)<<3 | 1<<1 // RLE block of k bytes
		if n == 0 {
			h |= 1 // last block
		}
		b.Write([]byte{byte(h), byte(h >> 8), byte(h >> 16), 0x00})
	}
	if b.Len() == 6 { // n == 0: one empty last raw block
		b.Write([]byte{1, 0, 0})
	}
	return b.Bytes()
}

// Patch replaces the first page of Column (a dotted path) in row group 0.
type Patch struct {
	Column string
	// Declared is the page's new uncompressed_page_size.
	Declared int32
	// Data replaces the page's compressed bytes (nil keeps them).
	Data []byte
	// ChunkTotal, when not 0, is the chunk's new total_uncompressed_size.
	ChunkTotal int64
}

// Apply returns file with the patch applied: the page header re-encoded,
// its data replaced, and every offset of the footer after it moved. The
// page index, if any, is left stale (readers refuse the file before).
func (p Patch) Apply(file []byte) ([]byte, error) {
	var proto thrift.CompactProtocol
	n := int64(binary.LittleEndian.Uint32(file[len(file)-8:]))
	footerStart := int64(len(file)) - 8 - n
	var md format.FileMetaData
	if err := thrift.Unmarshal(&proto, file[footerStart:len(file)-8], &md); err != nil {
		return nil, fmt.Errorf("footer: %w", err)
	}
	if len(md.RowGroups) == 0 {
		return nil, fmt.Errorf("no row group")
	}
	var cc *format.ColumnChunk
	for i := range md.RowGroups[0].Columns {
		c := &md.RowGroups[0].Columns[i]
		if joinPath(c.MetaData.PathInSchema) == p.Column {
			cc = c
		}
	}
	if cc == nil {
		return nil, fmt.Errorf("no column %s", p.Column)
	}
	start := cc.MetaData.DataPageOffset
	if d := cc.MetaData.DictionaryPageOffset; d > 0 && d < start {
		start = d
	}
	pr := proto.NewReaderFromBytes(file[start:footerStart])
	var h format.PageHeader
	if err := thrift.NewDecoder(pr).Decode(&h); err != nil {
		return nil, fmt.Errorf("page header: %w", err)
	}
	oldEnd := start + int64(pr.BytesRead()) + int64(h.CompressedPageSize)
	body := file[start+int64(pr.BytesRead()) : oldEnd]
	data := p.Data
	if data == nil {
		data = body
	} else if v2 := h.DataPageHeaderV2; v2.Valid {
		// levels stay, uncompressed, in front of the values
		levels := int(v2.V.RepetitionLevelsByteLength + v2.V.DefinitionLevelsByteLength)
		data = append(append([]byte(nil), body[:levels]...), data...)
	}
	h.UncompressedPageSize = p.Declared
	h.CompressedPageSize = int32(len(data))
	h.CRC = 0
	hb, err := thrift.Marshal(&proto, &h)
	if err != nil {
		return nil, err
	}
	page := append(hb, data...)
	delta := int64(len(page)) - (oldEnd - start)
	cc.MetaData.TotalCompressedSize += delta
	if p.ChunkTotal != 0 {
		cc.MetaData.TotalUncompressedSize = p.ChunkTotal
	}
	moveOffsets(&md, oldEnd, delta)
	footer, err := thrift.Marshal(&proto, &md)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Write(file[:start])
	out.Write(page)
	out.Write(file[oldEnd:footerStart])
	out.Write(footer)
	binary.Write(&out, binary.LittleEndian, uint32(len(footer)))
	out.WriteString("PAR1")
	return out.Bytes(), nil
}

// moveOffsets adds delta to every offset of md at or after from.
func moveOffsets(md *format.FileMetaData, from, delta int64) {
	move := func(off *int64) {
		if *off >= from {
			*off += delta
		}
	}
	for gi := range md.RowGroups {
		rg := &md.RowGroups[gi]
		move(&rg.FileOffset)
		for ci := range rg.Columns {
			c := &rg.Columns[ci]
			move(&c.FileOffset)
			move(&c.MetaData.DataPageOffset)
			move(&c.MetaData.DictionaryPageOffset)
			move(&c.MetaData.IndexPageOffset)
			move(&c.MetaData.BloomFilterOffset)
			move(&c.ColumnIndexOffset)
			move(&c.OffsetIndexOffset)
		}
	}
}

func joinPath(p []string) string {
	s := ""
	for i, e := range p {
		if i > 0 {
			s += "."
		}
		s += e
	}
	return s
}
