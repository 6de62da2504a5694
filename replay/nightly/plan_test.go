package nightly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/ingest"
	"github.com/reprise-dev/reprise/store"
)

// TestPlanIsTheNightsSelection: the plan of a night (whole, stratified,
// and each shard of three) is the night.json the night that follows
// writes, counts and sample alike; its systems add up to the sample and
// their shards to the shard's records; the runs the night made lie within
// the plan's estimate; the plan writes nothing.
func TestPlanIsTheNightsSelection(t *testing.T) {
	st := store.NewMem()
	log, _ := writeLog(t, st, 4, 50)
	where, err := ingest.CompileWhere(`model.version != "2" && output.score > 0.6`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		stratify bool
		shard    Shard
	}{
		{"whole", false, Shard{}}, {"stratified", true, Shard{}},
		{"shard 0/3", true, Shard{0, 3}}, {"shard 1/3", true, Shard{1, 3}}, {"shard 2/3", true, Shard{2, 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fr := &fakeRunner{}
			out := t.TempDir()
			o := options(log, out, fr)
			o.Sample, o.Stratify, o.Shard, o.Filter = 9, c.stratify, c.shard, ingest.Filter{Where: where}
			p, err := PlanNight(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if ents, _ := os.ReadDir(out); len(ents) != 0 {
				t.Fatalf("the plan wrote into --out: %v", ents)
			}
			if _, err := Run(context.Background(), st, o); err != nil {
				t.Fatal(err)
			}
			cfg, err := ReadConfig(out)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Started.IsZero() {
				t.Error("night.json has no start time")
			}
			// The plan is made before the night starts: all but the
			// start time must agree.
			pc := p.Config
			pc.Started = cfg.Started
			a, _ := json.Marshal(pc)
			b, _ := json.Marshal(cfg)
			if !bytes.Equal(a, b) {
				t.Fatalf("plan\n%s\nnight.json\n%s", a, b)
			}
			if cfg.Selected != 150-15 || cfg.Drawn == 0 {
				t.Errorf("selected %d, drawn %d; want 135 selected (3 systems, 5 planted each left out)", cfg.Selected, cfg.Drawn)
			}
			all, mine := 0, 0
			for _, s := range p.Systems {
				all += s.Records
				if s.InShard {
					mine += s.Records
				}
				if (s.Shard != nil) != (c.shard.N > 1) || s.Shard != nil && (*s.Shard == c.shard.I) != s.InShard {
					t.Errorf("system %s: shard %v, in shard %v", s.Name, s.Shard, s.InShard)
				}
			}
			if all != cfg.Drawn || mine != len(cfg.Records) || p.Runs.Records != mine {
				t.Errorf("systems hold %d records (%d of this shard), the night drew %d (%d of this shard); runs for %d", all, mine, cfg.Drawn, len(cfg.Records), p.Runs.Records)
			}
			if got := fr.runs.Load(); !p.Runs.Fixed || got < p.Runs.Min || got > p.Runs.Max {
				t.Errorf("the night made %d runs, the plan said %+v", got, p.Runs)
			}
			var text bytes.Buffer
			if err := p.Text(&text); err != nil || !strings.Contains(text.String(), "plan: nothing replayed") {
				t.Errorf("text: %v\n%s", err, text.String())
			}
		})
	}
}

// TestPlanOfAnotherNight: a plan into an --out that holds another night
// is refused as that night would be (ErrOtherNight), and a plan over a
// log that is not one is ErrLog.
func TestPlanOfAnotherNight(t *testing.T) {
	st := store.NewMem()
	log, _ := writeLog(t, st, 2, 10)
	out := t.TempDir()
	o := options(log, out, &fakeRunner{})
	if _, err := Run(context.Background(), st, o); err != nil {
		t.Fatal(err)
	}
	o.Seed++
	if _, err := PlanNight(context.Background(), o); !errors.Is(err, ErrOtherNight) {
		t.Errorf("plan of another night into %s: %v, want ErrOtherNight", out, err)
	}
	o.Out, o.Log = "", out+"/"+ConfigName
	if _, err := PlanNight(context.Background(), o); !errors.Is(err, ErrLog) {
		t.Errorf("plan over night.json: %v, want ErrLog", err)
	}
}
