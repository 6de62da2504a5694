package nightly

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/system"
)

// duckRowGroup is the row group DuckDB writes (122,880 rows).
const duckRowGroup = 122_880

// duckLog returns the path of a log of n rows written by Apache Arrow's Go
// Parquet writer the way DuckDB writes one (an independent writer, not
// reprise's): 122,880-row groups, one data page per column chunk (large
// pages: the page size limit is above any chunk), dictionary pages for
// the columns that repeat, snappy, no page index, every column OPTIONAL,
// the timestamp in microseconds. Its rows are writeBenchLog's (4
// systems, 30 days, in time order or not). Like benchLog it lives in
// REPRISE_BENCH_DIR when set.
func duckLog(b *testing.B, n int, ordered bool) string {
	return cachedBenchFile(b, "bench-duck-v1", n, ordered, "arrow-go", func(path string) error {
		return writeDuckLog(path, n, ordered)
	})
}

// duckColumns are the columns of duckLog, in order.
var duckColumns = []string{"request_id", "timestamp", "input_digest", "input_media_type", "params_seed",
	"system_id", "system_image", "model_name", "model_version", "model_digest", "config_name", "config_version",
	"config_digest", "protocol", "hardware_class", "output_label", "output_score", "output_digest"}

func writeDuckLog(path string, n int, ordered bool) error {
	var fields []arrow.Field
	for _, c := range duckColumns {
		t := arrow.DataType(arrow.BinaryTypes.String)
		switch c {
		case "timestamp":
			t = &arrow.TimestampType{Unit: arrow.Microsecond}
		case "params_seed":
			t = arrow.PrimitiveTypes.Int64
		case "output_score":
			t = arrow.PrimitiveTypes.Float64
		}
		fields = append(fields, arrow.Field{Name: c, Type: t, Nullable: true})
	}
	schema := arrow.NewSchema(fields, nil)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	props := pq.NewWriterProperties(pq.WithMaxRowGroupLength(duckRowGroup), pq.WithDataPageSize(256<<20),
		pq.WithDictionaryPageSizeLimit(1<<20), pq.WithCompression(compress.Codecs.Snappy),
		pq.WithDataPageVersion(pq.DataPageV1), pq.WithPageIndexEnabled(false), pq.WithStats(true))
	fw, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return err
	}
	g := newBenchRows(n, ordered)
	for done := 0; done < n; done += duckRowGroup {
		rec := g.batch(schema, min(duckRowGroup, n-done))
		err := fw.Write(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return fw.Close()
}

// benchRowGen makes the rows of writeBenchLog, in the same order of draws.
type benchRowGen struct {
	n, i    int
	ordered bool
	rng     *rand.Rand
	systems []system.System
	in      digest.Digest
}

func newBenchRows(n int, ordered bool) *benchRowGen {
	g := &benchRowGen{n: n, ordered: ordered, rng: rand.New(rand.NewPCG(1, 2)), in: digest.FromBytes([]byte("input"))}
	for v := range 4 {
		s := system.System{Image: system.ImageRef{Name: "registry.example.com/inference/loan", Digest: digest.FromBytes([]byte{byte(v)})},
			Model:  system.Artifact{Name: "loan-approver", Version: fmt.Sprintf("2.4.%d", v), Digest: digest.FromBytes([]byte{'m', byte(v)})},
			Config: system.Artifact{Name: "loan-params", Version: "3", Digest: digest.FromBytes([]byte("c"))}}
		s.Seal()
		g.systems = append(g.systems, s)
	}
	return g
}

// batch is the next k rows as one record batch.
func (g *benchRowGen) batch(schema *arrow.Schema, k int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	s := func(c int, v string) { b.Field(c).(*array.StringBuilder).Append(v) }
	labels := []string{"approved", "denied", "referred"}
	for range k {
		i := g.i
		g.i++
		l := labels[g.rng.IntN(3)]
		sc := g.rng.Float64()
		out := output.Output{Label: &l, Score: &sc}
		at := time.Duration(g.rng.Int64N(int64(30 * 24 * time.Hour)))
		if g.ordered {
			at = time.Duration(float64(i) / float64(g.n) * float64(30*24*time.Hour))
		}
		sys := g.systems[g.rng.IntN(4)]
		s(0, fmt.Sprintf("req_%09d", i))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(benchStart.Add(at).Truncate(time.Microsecond).UnixMicro()))
		s(2, g.in.String())
		s(3, "application/json")
		b.Field(4).(*array.Int64Builder).Append(int64(i))
		s(5, sys.ID.String())
		s(6, sys.Image.String())
		s(7, sys.Model.Name)
		s(8, sys.Model.Version)
		s(9, sys.Model.Digest.String())
		s(10, sys.Config.Name)
		s(11, sys.Config.Version)
		s(12, sys.Config.Digest.String())
		s(13, "jsonl-stdio")
		s(14, "cpu/amd64/x86-64-v3")
		s(15, l)
		b.Field(16).(*array.Float64Builder).Append(sc)
		s(17, digest.FromBytes(out.Canonical()).String())
	}
	return b.NewRecordBatch()
}
