package jsonl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/system"
)

// fakeSystem reads request lines from r and answers with answer(line).
func fakeSystem(r io.Reader, w io.WriteCloser, answer func(n int, line string) (string, bool)) {
	sc := bufio.NewScanner(r)
	for n := 0; sc.Scan(); n++ {
		out, ok := answer(n, sc.Text())
		if !ok {
			w.Close()
			return
		}
		if out != "" {
			io.WriteString(w, out+"\n")
		}
	}
	w.Close()
}

func pair(answer func(n int, line string) (string, bool)) *Conn {
	reqR, reqW := io.Pipe()
	respR, respW := io.Pipe()
	go fakeSystem(reqR, respW, answer)
	return New(Codec{}, reqW, respR)
}

func seed(s int64) system.Params { return system.Params{}.WithSeed(s) }

func TestRoundTrip(t *testing.T) {
	var got string
	c := pair(func(n int, line string) (string, bool) {
		got = line
		return `{"label":"approved","score":0.5,"text":null,"extra":1}`, true
	})
	resp, err := c.Do(context.Background(), runners.Request{Input: json.RawMessage(`{"a":1}`), Params: seed(7)}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got != `{"id":"r0","input":{"a":1},"params":{"seed":7}}` {
		t.Errorf("request line %q", got)
	}
	if *resp.Output.Label != "approved" || *resp.Output.Score != 0.5 || resp.Output.Text != nil || string(resp.Raw) != `{"label":"approved","score":0.5,"text":null,"extra":1}` {
		t.Errorf("response %+v", resp)
	}
}

func TestFailures(t *testing.T) {
	cases := []struct {
		name   string
		answer func(n int, line string) (string, bool)
		want   error
		msg    string
	}{
		{"not json", func(int, string) (string, bool) { return "hello", true }, runners.ErrProtocol, "not a JSON object"},
		{"broken json", func(int, string) (string, bool) { return `{"label":`, true }, runners.ErrProtocol, "invalid response"},
		{"wrong type", func(int, string) (string, bool) { return `{"score":"high"}`, true }, runners.ErrProtocol, "invalid response"},
		{"too long", func(int, string) (string, bool) { return `{"text":"` + strings.Repeat("x", 5<<20) + `"}`, true }, runners.ErrProtocol, "longer than the limit of 4194304 bytes (raise it with --max-response-size)"},
		{"exits", func(int, string) (string, bool) { return "", false }, runners.ErrCrashed, "closed its output"},
		{"hangs", func(int, string) (string, bool) { time.Sleep(time.Hour); return "", true }, runners.ErrTimeout, "no response within"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn := pair(c.answer)
			// Generous except where the timeout is the point: a loaded
			// machine must not turn a slow 5 MiB write into a timeout.
			timeout := 10 * time.Second
			if c.want == runners.ErrTimeout {
				timeout = 200 * time.Millisecond
			}
			_, err := conn.Do(context.Background(), runners.Request{Params: seed(1)}, timeout)
			var re *runners.RunError
			if !errors.Is(err, c.want) || !errors.As(err, &re) || re.Run != 0 || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v, want %v containing %q", err, c.want, c.msg)
			}
			// The session is unusable afterwards, and says so.
			_, err = conn.Do(context.Background(), runners.Request{Params: seed(2)}, 200*time.Millisecond)
			if !errors.As(err, &re) || re.Run != 1 || !strings.Contains(err.Error(), "unusable") {
				t.Fatalf("second run: %v", err)
			}
		})
	}
}

func TestRunIndexAndCancel(t *testing.T) {
	c := pair(func(n int, line string) (string, bool) {
		if n == 2 {
			time.Sleep(time.Hour)
		}
		return `{"label":"x"}`, true
	})
	for i := range 2 {
		if _, err := c.Do(context.Background(), runners.Request{Params: seed(int64(i))}, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Do(ctx, runners.Request{Params: seed(3)}, time.Minute)
	var re *runners.RunError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &re) || re.Run != 2 {
		t.Fatalf("err = %v", err)
	}
}

func TestLongLine(t *testing.T) {
	big := `{"text":"` + strings.Repeat("x", 1<<20) + `"}`
	c := pair(func(int, string) (string, bool) { return big, true })
	resp, err := c.Do(context.Background(), runners.Request{Params: seed(1)}, 5*time.Second)
	if err != nil || len(*resp.Output.Text) != 1<<20 {
		t.Fatalf("long line: %v", err)
	}
}

func TestErrorAnswerIsAnOutcome(t *testing.T) {
	c := pair(func(n int, line string) (string, bool) {
		if n == 0 {
			return `{"error":"model exploded"}`, true
		}
		return `{"label":"x"}`, true
	})
	resp, err := c.Do(context.Background(), runners.Request{Params: seed(1)}, time.Second)
	if err != nil || resp.Error != "model exploded" || !resp.Output.IsZero() || string(resp.Raw) != `{"error":"model exploded"}` {
		t.Fatalf("error answer: %+v, %v", resp, err)
	}
	// The session goes on.
	resp, err = c.Do(context.Background(), runners.Request{Params: seed(2)}, time.Second)
	if err != nil || resp.Error != "" || *resp.Output.Label != "x" {
		t.Fatalf("next run: %+v, %v", resp, err)
	}
}

func TestMaxResponseBytes(t *testing.T) {
	reqR, reqW := io.Pipe()
	respR, respW := io.Pipe()
	go fakeSystem(reqR, respW, func(n int, _ string) (string, bool) {
		return `{"text":"` + strings.Repeat("x", 1000+n*100) + `"}`, true
	})
	c := NewLimited(Codec{}, reqW, respR, 1100)
	if _, err := c.Do(context.Background(), runners.Request{Params: seed(1)}, time.Second); err != nil {
		t.Fatalf("run 0 (1011 bytes): %v", err)
	}
	_, err := c.Do(context.Background(), runners.Request{Params: seed(2)}, time.Second)
	var re *runners.RunError
	if !errors.Is(err, runners.ErrProtocol) || !errors.As(err, &re) || re.Run != 1 || !strings.Contains(err.Error(), "limit of 1100 bytes") || !strings.Contains(err.Error(), "--max-response-size") {
		t.Fatalf("err = %v", err)
	}
}

// idOf returns the "id" of a request line.
func idOf(line string) string {
	var r struct{ ID string }
	json.Unmarshal([]byte(line), &r)
	return r.ID
}

// TestOutOfStep: systems that print more lines than requests. However the
// lines fall, no run gets another request's answer: each run either carries
// its own answer (checked by the seed the answer names) or is reported, and
// every run from OutOfStepError.Since on is suspect.
func TestOutOfStep(t *testing.T) {
	cases := []struct {
		name   string
		echo   bool
		banner bool // a line before the first request
		twice  bool // two lines per request
	}{
		{"banner, no ids", false, true, false},
		{"banner, echoed ids", true, true, false},
		{"two lines per request, no ids", false, false, true},
		{"two lines per request, echoed ids", true, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for range 20 { // the lines race the requests: try several interleavings
				reqR, reqW := io.Pipe()
				respR, respW := io.Pipe()
				go func() {
					if tc.banner {
						io.WriteString(respW, `{"label":"banner"}`+"\n")
					}
					fakeSystem(reqR, respW, func(n int, line string) (string, bool) {
						var req runners.Request
						json.Unmarshal([]byte(line), &req)
						ans := `{"label":"seed-` + strconv.FormatInt(*req.Params.Seed, 10) + `"}`
						if tc.echo {
							ans = `{"id":"` + idOf(line) + `",` + ans[1:]
						}
						if tc.twice {
							ans += "\n" + ans
						}
						return ans, true
					})
				}()
				c := New(Codec{}, reqW, respR)
				var got []string
				var err error
				for i := range 10 {
					var resp runners.Response
					resp, err = c.Do(context.Background(), runners.Request{Params: seed(int64(i))}, time.Second)
					if err != nil {
						break
					}
					got = append(got, *resp.Output.Label)
				}
				if err == nil {
					err = c.Finish(context.Background(), time.Second)
				}
				var oos *runners.OutOfStepError
				if !errors.Is(err, runners.ErrProtocol) || !errors.As(err, &oos) || !strings.Contains(err.Error(), `label`) {
					t.Fatalf("err = %v, want an OutOfStepError naming the line (runs %v)", err, got)
				}
				if tc.echo && !strings.Contains(err.Error(), "unsolicited") && !strings.Contains(err.Error(), `carries id`) {
					t.Fatalf("err = %v", err)
				}
				for k := 0; k < oos.Since && k < len(got); k++ {
					if got[k] != "seed-"+strconv.Itoa(k) {
						t.Fatalf("run %d carries %q, and is not suspect (since %d): %v", k, got[k], oos.Since, err)
					}
				}
				if !tc.echo && oos.Since != 0 {
					t.Fatalf("without ids every run is suspect, got since %d", oos.Since)
				}
				if tc.echo && tc.banner {
					// caught at run 0 (the banner, unsolicited) or at run 1 (run 0's real answer)
					var re *runners.RunError
					if !errors.As(err, &re) || re.Run > 1 || oos.Since != 0 {
						t.Fatalf("banner with ids: %v (since %d)", err, oos.Since)
					}
				}
			}
		})
	}
}

func TestFinishInStep(t *testing.T) {
	c := pair(func(n int, line string) (string, bool) { return `{"label":"x"}`, true })
	for i := range 3 {
		if _, err := c.Do(context.Background(), runners.Request{Params: seed(int64(i))}, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Finish(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestCanonicalDropsID(t *testing.T) {
	for in, want := range map[string]string{
		`{"id":"r0","label":"a","score":1}`: `{"label":"a","score":1}`,
		`{"label":"a","id":"r0","score":1}`: `{"label":"a","score":1}`,
		`{"label":"a", "id": "r0"}`:         `{"label":"a"}`,
		`{"id":"r0" , "label":"a"}`:         `{ "label":"a"}`,
		`{"id":"r0"}`:                       `{}`,
		`{"label":"a","text":"{\"id\":1}"}`: `{"label":"a","text":"{\"id\":1}"}`,
		`{"label":{"id":1}}`:                `{"label":{"id":1}}`,
		`not json "id"`:                     `not json "id"`,
	} {
		if got := string(Codec{}.Canonical([]byte(in))); got != want {
			t.Errorf("Canonical(%s) = %s, want %s", in, got, want)
		}
	}
}
