package nightly

import (
	"context"
	"fmt"
	"os"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/reprise-dev/reprise/store"
)

func TestZZDump(t *testing.T) {
	st := store.NewMem()
	log, _ := writeLog(t, st, 2, 30)
	o := options(log, t.TempDir(), &fakeRunner{})
	o.MinRate = 0.95
	n, err := Run(context.Background(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile("/tmp/nq/report.html", []byte(n.HTML()), 0o644)
	var r Result
	for _, x := range n.Records {
		if x.Verdict == "DIVERGED" {
			r = x
			break
		}
	}
	var ps []float64
	for _, x := range n.Records {
		if x.PValue != nil {
			ps = append(ps, *x.PValue)
		}
	}
	save := func(i int) func(p *plot.Plot, w, h vg.Length, err error) {
		return func(p *plot.Plot, w, h vg.Length, err error) {
			if err != nil {
				t.Fatal(err)
			}
			c := vgimg.New(w, h)
			p.Draw(vgdraw.New(c))
			f, _ := os.Create(fmt.Sprintf("/tmp/nq/plot%d.png", i))
			defer f.Close()
			vgimg.PngCanvas{Canvas: c}.WriteTo(f)
		}
	}
	save(1)(ratePlot(n))
	save(2)(pValuePlot(ps))
	save(3)(labelPlot(r))
	save(4)(scorePlot([]float64{0.5, 0.52, 0.55, 0.6, 0.6, 0.6, 0.7}, 0.58))
}
