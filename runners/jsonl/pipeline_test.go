package jsonl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/runners"
)

// inFlight counts the requests written and not yet answered, and the most
// seen at once: the writer side counts before its write, the fake system
// counts an answer before writing it.
type inFlight struct {
	w            io.Writer
	now, maxSeen atomic.Int64
}

func (f *inFlight) Write(b []byte) (int, error) {
	n := f.now.Add(int64(strings.Count(string(b), "\n")))
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	return f.w.Write(b)
}

// batchSystem answers request lines: the first one at once, then only once
// it has read `batch` lines (or its input ended), all of them in order. A
// system that is never sent more than one request at a time after the first
// would hang. mangle may rewrite the answer to request n.
func batchSystem(r io.Reader, w io.WriteCloser, f *inFlight, echo bool, batch int, mangle func(n int, ans string) string) {
	defer w.Close()
	sc := bufio.NewScanner(r)
	bw := bufio.NewWriter(w)
	var pending []string
	flush := func(first int) {
		for k, line := range pending {
			var req runners.Request
			json.Unmarshal([]byte(line), &req)
			ans := `{"label":"seed-` + strconv.FormatInt(*req.Params.Seed, 10) + `"}`
			if echo {
				ans = `{"id":"` + idOf(line) + `",` + ans[1:]
			}
			if mangle != nil {
				ans = mangle(first+k, ans)
			}
			if f != nil {
				f.now.Add(-1)
			}
			bw.WriteString(ans + "\n")
		}
		bw.Flush()
		pending = pending[:0]
	}
	n := 0
	for sc.Scan() {
		pending = append(pending, sc.Text())
		n++
		if n == 1 || len(pending) == batch {
			flush(n - len(pending))
		}
	}
	flush(n - len(pending))
}

func pipelined(echo bool, batch int, mangle func(n int, ans string) string) (*Conn, *inFlight) {
	reqR, reqW := io.Pipe()
	respR, respW := io.Pipe()
	f := &inFlight{w: reqW}
	go batchSystem(reqR, respW, f, echo, batch, mangle)
	return New(Codec{}, f, respR), f
}

func reqs(n int) []runners.Request {
	out := make([]runners.Request, n)
	for i := range out {
		out[i] = runners.Request{Params: seed(int64(i))}
	}
	return out
}

func timeoutOf(d time.Duration) func(int) (time.Duration, error) {
	return func(int) (time.Duration, error) { return d, nil }
}

// TestPipelineEchoingSystem: once the system echoed an id, DoAll keeps up to
// the window in flight (the batching system answers only when it holds 4),
// every answer is its own request's (the seed it names), in order, with
// service time and queueing apart; service intervals never overlap, so
// their sum is at most the wall time.
func TestPipelineEchoingSystem(t *testing.T) {
	c, f := pipelined(true, 4, nil)
	var got []runners.Response
	start := time.Now()
	c.DoAll(context.Background(), reqs(41), 8, timeoutOf(10*time.Second), func(i int, resp runners.Response, err error) bool {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if i != len(got) {
			t.Fatalf("yielded %d after %d answers", i, len(got))
		}
		got = append(got, resp)
		return true
	})
	wall := time.Since(start)
	if len(got) != 41 {
		t.Fatalf("%d answers", len(got))
	}
	var service time.Duration
	queued := 0
	for i, r := range got {
		if want := "seed-" + strconv.Itoa(i); *r.Output.Label != want || r.ID != "r"+strconv.Itoa(i) {
			t.Fatalf("run %d answered %q (id %q), want %q", i, *r.Output.Label, r.ID, want)
		}
		if r.Latency < 0 || r.Queue < 0 {
			t.Fatalf("run %d: latency %v queue %v", i, r.Latency, r.Queue)
		}
		service += r.Latency
		if r.Queue > 0 {
			queued++
		}
	}
	if service > wall {
		t.Fatalf("service times sum to %v, more than the wall time %v: they overlap", service, wall)
	}
	// The system holds 4 answers back, so requests wait behind others.
	if queued == 0 || !c.Pipelined() || f.maxSeen.Load() < 4 || f.maxSeen.Load() > 8 {
		t.Fatalf("queued %d, pipelined %v, most in flight %d (want 4..8)", queued, c.Pipelined(), f.maxSeen.Load())
	}
	if err := c.Finish(context.Background(), time.Second); err != nil {
		t.Fatalf("finish: %v", err)
	}
}

// TestNoPipelineWithoutIDs: a system that echoes no ids is sent one request
// at a time, whatever the window: an answer could not be checked against its
// request.
func TestNoPipelineWithoutIDs(t *testing.T) {
	for _, window := range []int{1, 16} {
		reqR, reqW := io.Pipe()
		respR, respW := io.Pipe()
		f := &inFlight{w: reqW}
		go batchSystem(reqR, respW, f, false, 1, nil)
		c := New(Codec{}, f, respR)
		n := 0
		c.DoAll(context.Background(), reqs(30), window, timeoutOf(10*time.Second), func(i int, resp runners.Response, err error) bool {
			if err != nil || *resp.Output.Label != "seed-"+strconv.Itoa(i) {
				t.Fatalf("run %d: %v %v", i, resp.Output, err)
			}
			n++
			return true
		})
		if n != 30 || c.Pipelined() || f.maxSeen.Load() != 1 {
			t.Fatalf("window %d: %d answers, pipelined %v, most in flight %d (want 1)", window, n, c.Pipelined(), f.maxSeen.Load())
		}
	}
	// Window 1 keeps an echoing system at one request at a time too.
	c, f := pipelined(true, 1, nil)
	c.DoAll(context.Background(), reqs(20), 1, timeoutOf(10*time.Second), func(i int, _ runners.Response, err error) bool {
		if err != nil {
			t.Fatal(err)
		}
		return true
	})
	if c.Pipelined() || f.maxSeen.Load() != 1 {
		t.Fatalf("window 1: pipelined %v, most in flight %d", c.Pipelined(), f.maxSeen.Load())
	}
}

// TestPipelineOutOfStep: under pipelining an answer carrying another
// request's id, or none, is an OutOfStepError since that run: every earlier
// run was checked by its id and keeps its own answer.
func TestPipelineOutOfStep(t *testing.T) {
	cases := []struct {
		name   string
		mangle func(n int, ans string) string
	}{
		{"swapped ids", func(n int, ans string) string {
			switch n {
			case 9:
				return strings.Replace(ans, `"r9"`, `"r10"`, 1)
			case 10:
				return strings.Replace(ans, `"r10"`, `"r9"`, 1)
			}
			return ans
		}},
		{"id dropped", func(n int, ans string) string {
			if n == 9 {
				return `{"label":"seed-9"}`
			}
			return ans
		}},
		{"extra line", func(n int, ans string) string {
			if n == 9 {
				return `{"id":"r8","label":"seed-8"}` + "\n" + ans
			}
			return ans
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := pipelined(true, 4, tc.mangle)
			var got []string
			var last error
			failed := -1
			c.DoAll(context.Background(), reqs(30), 8, timeoutOf(10*time.Second), func(i int, resp runners.Response, err error) bool {
				if err != nil {
					last, failed = err, i
					return false
				}
				got = append(got, *resp.Output.Label)
				return true
			})
			var oos *runners.OutOfStepError
			var re *runners.RunError
			if !errors.As(last, &oos) || !errors.Is(last, runners.ErrProtocol) || !errors.As(last, &re) {
				t.Fatalf("err = %v, want an OutOfStepError", last)
			}
			if failed != 9 || re.Run != 9 || oos.Since != 9 || len(got) != 9 {
				t.Fatalf("failed at %d (run %d, since %d) after %d answers: %v", failed, re.Run, oos.Since, len(got), last)
			}
			for k, l := range got {
				if l != "seed-"+strconv.Itoa(k) {
					t.Fatalf("run %d carries %q", k, l)
				}
			}
			// The connection is broken: no later run is trusted.
			if _, err := c.Do(context.Background(), runners.Request{Params: seed(99)}, time.Second); err == nil || !strings.Contains(err.Error(), "unusable") {
				t.Fatalf("after out of step: %v", err)
			}
		})
	}
}

// TestPipelineTimeoutAndCrash: a pipelined system that stops answering
// times the waiting run out (its run index named); one that exits is a
// crash. Answers before stay.
func TestPipelineTimeoutAndCrash(t *testing.T) {
	for _, tc := range []struct {
		name string
		want error
	}{{"hangs", runners.ErrTimeout}, {"exits", runners.ErrCrashed}} {
		t.Run(tc.name, func(t *testing.T) {
			reqR, reqW := io.Pipe()
			respR, respW := io.Pipe()
			var once sync.Once
			go batchSystem(reqR, respW, nil, true, 2, func(n int, ans string) string {
				if n >= 5 {
					once.Do(func() {
						if tc.name == "exits" {
							respW.Close()
							reqR.Close()
						}
					})
					if tc.name == "hangs" {
						time.Sleep(time.Hour)
					}
				}
				return ans
			})
			c := New(Codec{}, reqW, respR)
			ok := 0
			var last error
			// Generous before the hang, so a loaded machine does not time
			// out a run that answers; short where the timeout is the point.
			timeout := func(run int) (time.Duration, error) {
				if run >= 5 && tc.name == "hangs" {
					return 300 * time.Millisecond, nil
				}
				return 10 * time.Second, nil
			}
			c.DoAll(context.Background(), reqs(20), 4, timeout, func(i int, _ runners.Response, err error) bool {
				if err != nil {
					last = err
					return false
				}
				ok++
				return true
			})
			var re *runners.RunError
			if !errors.Is(last, tc.want) || !errors.As(last, &re) || re.Run != 5 || ok != 5 {
				t.Fatalf("after %d answers: %v (want run 5, %v)", ok, last, tc.want)
			}
		})
	}
}
