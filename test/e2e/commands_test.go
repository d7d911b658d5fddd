package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/cmd/app"
	"github.com/switchboard-voip/switchboard/cmd/config"
	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/leak"
	"github.com/switchboard-voip/switchboard/test/natstest"
)

// runApp builds a process exactly as main does and runs it until the test
// ends; it returns once /healthz reports ready.
func runApp(t *testing.T, mode app.Mode, mutate func(*config.Config)) *app.App {
	t.Helper()
	cfg := config.Default()
	cfg.NodeID = "n-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	if len(cfg.NodeID) > 60 {
		cfg.NodeID = cfg.NodeID[:60]
	}
	cfg.DataDir = t.TempDir()
	cfg.NATSPort = -1 // random
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.SIPHost, cfg.SIPPort, cfg.MediaIP = "127.0.0.1", 0, "127.0.0.1"
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := app.New(context.Background(), cfg, mode, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	if len(mode.Roles) > 0 {
		natstest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
			if !a.Ready() {
				return fmt.Errorf("not ready")
			}
			return nil
		})
	}
	return a
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func command(t *testing.T, nc *nats.Conn, subject string, body []byte) events.Reply {
	t.Helper()
	m, err := nc.Request(subject, body, 3*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	var r events.Reply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		t.Fatalf("%s: reply is not JSON: %q", subject, m.Data)
	}
	if r.Code >= 300 && m.Header.Get("Nats-Service-Error-Code") != fmt.Sprint(r.Code) {
		t.Errorf("%s: micro error header %q does not carry code %d", subject, m.Header.Get("Nats-Service-Error-Code"), r.Code)
	}
	return r
}

func metric(t *testing.T, a *app.App, line string) bool {
	t.Helper()
	resp, err := http.Get("http://" + a.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), line)
}

// TestBadCommandsGetCodedErrors: whatever an application sends, it gets a
// reply with a code and a reason, the node stays up, and the refusal is
// counted.
func TestBadCommandsGetCodedErrors(t *testing.T) {
	leak.Check(t)
	a := runApp(t, app.Mode{Edge: true, Roles: events.AllRoles}, nil)
	nc := connect(t, a.NATSURL())
	cases := []struct {
		name, subject string
		body          []byte
		code          int
		reason        string
	}{
		{"unknown verb", "sb.cmd.frobnicate", []byte(`{}`), 404, `unknown command "frobnicate"`},
		{"unknown deep subject", "sb.cmd.a.b.c", []byte(`{}`), 404, "unknown command"},
		{"not JSON", "sb.cmd.locate", []byte(`{"call_id": `), 400, "not JSON"},
		{"empty body", "sb.cmd.locate", nil, 400, "not JSON"},
		{"binary junk", "sb.cmd.locate", []byte{0xff, 0xfe, 0, 1, 2}, 400, "not JSON"},
		{"wrong type", "sb.cmd.locate", []byte(`{"call_id": 42}`), 400, "/call_id"},
		{"missing field", "sb.cmd.locate", []byte(`{}`), 400, "call_id"},
		{"unknown field", "sb.cmd.locate", []byte(`{"call_id":"x","extra":true}`), 400, "extra"},
		{"array", "sb.cmd.locate", []byte(`[]`), 400, "want object"},
		{"oversized", "sb.cmd.locate", []byte(`{"call_id":"` + strings.Repeat("a", 70000) + `"}`), 413, "limit"},
		{"good", "sb.cmd.locate", []byte(`{"call_id":"ok@host"}`), 200, "OK"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := command(t, nc, c.subject, c.body)
			if r.Code != c.code || !strings.Contains(r.Reason, c.reason) {
				t.Errorf("got %d %q, want %d containing %q", r.Code, r.Reason, c.code, c.reason)
			}
		})
	}
	// A bounded flood of junk: every request answered, node still ready.
	const flood = 2000
	replies := make(chan *nats.Msg, flood)
	inbox := nats.NewInbox()
	sub, _ := nc.ChanSubscribe(inbox, replies)
	defer sub.Unsubscribe()
	for i := 0; i < flood; i++ {
		_ = nc.PublishRequest(fmt.Sprintf("sb.cmd.junk%d", i%7), inbox, []byte("{{{{"))
	}
	deadline := time.After(10 * time.Second)
	for got := 0; got < flood; got++ {
		select {
		case <-replies:
		case <-deadline:
			t.Fatalf("only %d of %d junk commands answered", got, flood)
		}
	}
	if !a.Ready() {
		t.Fatal("node not ready after the flood")
	}
	for _, line := range []string{
		`sb_command_errors_total{reason="unknown_verb"} 2002`,
		`sb_command_errors_total{reason="bad_json"} 3`,
		`sb_command_errors_total{reason="schema"} 4`,
		`sb_command_errors_total{reason="oversized"} 1`,
		`sb_commands_total{code="200",verb="locate"} 1`,
	} {
		if !metric(t, a, line) {
			t.Errorf("metrics lack %s", line)
		}
	}
}

// TestEdgeWithoutOwnerAnswers503: an edge whose cluster has no worker for
// the partition yet answers 503 with Retry-After rather than hanging.
func TestEdgeWithoutOwnerAnswers503(t *testing.T) {
	leak.Check(t)
	s := natstest.Run(t)
	a := runApp(t, app.Mode{Edge: true}, func(c *config.Config) { c.NATSURL = s.ClientURL() })
	nc := connect(t, a.NATSURL())
	natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if !a.Ready() {
			return fmt.Errorf("edge not ready")
		}
		return nil
	})
	r := command(t, nc, "sb.cmd.locate", []byte(`{"call_id":"nobody@home"}`))
	if r.Code != 503 || r.RetryAfter < 1 || r.Partition == nil {
		t.Fatalf("got %+v, want 503 with retry_after and the partition", r)
	}
}

// TestAppLifecycleLeavesNothingBehind: a full start, a command, a drain and
// a stop end every goroutine the process started.
func TestAppLifecycleLeavesNothingBehind(t *testing.T) {
	leak.Check(t)
	a := runApp(t, app.Mode{Edge: true, Roles: events.AllRoles}, nil)
	nc := connect(t, a.NATSURL())
	if r := command(t, nc, "sb.cmd.locate", []byte(`{"call_id":"x@y"}`)); r.Code != 200 {
		t.Fatalf("locate: %+v", r)
	}
	resp, err := http.Get("http://" + a.HTTPAddr() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", err, resp)
	}
	resp.Body.Close()
	if err := a.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, r := range events.AllRoles {
		if got := a.Node().Owned(r); len(got) != 0 {
			t.Fatalf("%s still owned after drain: %v", r, got)
		}
	}
}
