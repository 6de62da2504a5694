package jsonl

import (
	"github.com/reprise-dev/reprise/system"

	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/runners"
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
	if got != `{"input":{"a":1},"params":{"seed":7}}` {
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
		{"error answer", func(int, string) (string, bool) { return `{"error":"model exploded"}`, true }, runners.ErrProtocol, "model exploded"},
		{"exits", func(int, string) (string, bool) { return "", false }, runners.ErrCrashed, "closed its output"},
		{"hangs", func(int, string) (string, bool) { time.Sleep(time.Hour); return "", true }, runners.ErrTimeout, "no response within"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn := pair(c.answer)
			_, err := conn.Do(context.Background(), runners.Request{Params: seed(1)}, 200*time.Millisecond)
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
