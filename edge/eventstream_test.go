package edge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/edge"
	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/natstest"
)

type relay struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	whip *edge.WHIP
	srv  *httptest.Server
	reg  *prometheus.Registry
}

func newRelay(t *testing.T, cfg edge.WHIPConfig) *relay {
	t.Helper()
	nc := natstest.Connect(t, natstest.Run(t))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{
		Name: events.EventStream, Subjects: []string{events.EventWildcard},
	}); err != nil {
		t.Fatal(err)
	}
	r := &relay{nc: nc, js: js, reg: prometheus.NewRegistry()}
	cfg.Partitions, cfg.Registerer = 4, r.reg
	if r.whip, err = edge.NewWHIP(nc, cfg, nil); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	r.whip.Register(mux)
	r.srv = httptest.NewUnstartedServer(mux)
	r.srv.Config.RegisterOnShutdown(r.whip.Close)
	r.srv.Start()
	t.Cleanup(func() {
		r.whip.Close()
		r.srv.Close()
	})
	return r
}

// event publishes a call event into the stream, as the platform does.
func (r *relay) event(t *testing.T, callID, name string) {
	t.Helper()
	e := events.New("n1", &events.CallRinging{Direction: events.DirectionInbound, Code: 180})
	e.CallID = callID
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.js.Publish(context.Background(), events.CallEventSubject(callID, name), data); err != nil {
		t.Fatal(err)
	}
}

// stream is an open GET /events.
type stream struct {
	res   *http.Response
	lines *bufio.Reader
}

func (r *relay) open(t *testing.T, query string, hdr ...string) (*stream, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, r.srv.URL+"/events?"+query, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		res.Body = io.NopCloser(strings.NewReader(string(body)))
		return nil, res
	}
	s := &stream{res: res, lines: bufio.NewReader(res.Body)}
	t.Cleanup(func() { res.Body.Close() })
	return s, res
}

// closeStream closes s and waits until the edge has let it go.
func (r *relay) closeStream(t *testing.T, s *stream) {
	t.Helper()
	s.res.Body.Close()
	natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if v := gauge(t, r.reg, "sb_http_event_streams"); v != 0 {
			return fmt.Errorf("%v streams open", v)
		}
		return nil
	})
}

// next reads the next event: its id and the call id in its data.
func (s *stream) next(t *testing.T) (id, callID string) {
	t.Helper()
	timer := time.AfterFunc(5*time.Second, func() { s.res.Body.Close() }) // a stuck read fails
	defer timer.Stop()
	for {
		line, err := s.lines.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "data: "):
			e, err := events.Parse([]byte(line[6:]))
			if err != nil {
				t.Fatalf("unparsable event %q: %v", line, err)
			}
			return id, e.CallID
		}
	}
}

// TestEventStream: GET /events replays the events of the named call that
// are already in SB_EVENTS, then streams new ones, and nothing else; a
// reconnect with Last-Event-ID resumes after the last one seen; the token
// is taken as ?access_token=; bad requests get 400/401 and the reason; a
// stream over the limit gets 503; Close ends open streams and leaves no
// goroutine behind.
func TestEventStream(t *testing.T) {
	before := runtime.NumGoroutine()
	r := newRelay(t, edge.WHIPConfig{Token: "s3cret", MaxStreams: 1})
	const a, b = "a84b4c76e66710@pc33.atlanta.com", "other@x"
	r.event(t, a, "ringing")
	r.event(t, b, "ringing")
	r.event(t, a, "answered")

	s, res := r.open(t, "call_id="+a+"&access_token=s3cret")
	if s == nil {
		t.Fatalf("open: %d", res.StatusCode)
	}
	if ct := s.res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	for i, want := range []string{"1", "3"} {
		if id, call := s.next(t); id != want || call != a {
			t.Fatalf("event %d: id %s call %s, want id %s call %s", i, id, call, want, a)
		}
	}
	r.event(t, b, "completed")
	r.event(t, a, "completed")
	if id, call := s.next(t); id != "5" || call != a {
		t.Fatalf("live event: id %s call %s, want 5 of %s", id, call, a)
	}

	// One stream at most here: a second is refused until the first ends.
	if _, res := r.open(t, "call_id="+a, "Authorization", "Bearer s3cret"); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second stream: %d, want 503", res.StatusCode)
	}
	r.closeStream(t, s)

	// Resume after event 3: only 5 follows.
	s, res = r.open(t, "call_id="+a, "Authorization", "Bearer s3cret", "Last-Event-ID", "3")
	if s == nil {
		t.Fatalf("resume: %d", res.StatusCode)
	}
	if id, _ := s.next(t); id != "5" {
		t.Fatalf("resumed at %s, want 5", id)
	}
	r.closeStream(t, s)

	for _, c := range []struct {
		query, auth string
		code        int
		reason      string
	}{
		{"call_id=" + a, "", 401, "bearer token"},
		{"call_id=" + a + "&access_token=wrong", "", 401, "bearer token"},
		{"", "Bearer s3cret", 400, "call_id or conference"},
		{"conference=bad.room", "Bearer s3cret", 400, "bad conference name"},
		{"call_id=" + a + "&since=99999", "Bearer s3cret", 400, "since"},
		{strings.Repeat("call_id=x&", 9), "Bearer s3cret", 400, "call_id or conference"},
	} {
		_, res := r.open(t, c.query, "Authorization", c.auth)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != c.code || !strings.Contains(string(body), c.reason) {
			t.Errorf("GET /events?%s: %d %q, want %d %q", c.query, res.StatusCode, body, c.code, c.reason)
		}
	}

	// Close ends a stream that is open.
	s, res = r.open(t, "call_id="+a+"&since=0", "Authorization", "Bearer s3cret")
	if s == nil {
		t.Fatalf("open: %d", res.StatusCode)
	}
	ended := make(chan error, 1)
	go func() { _, err := io.ReadAll(s.res.Body); ended <- err }()
	r.whip.Close()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the open stream")
	}
	r.srv.Close()
	r.nc.Close()
	http.DefaultClient.CloseIdleConnections()
	natstest.CheckFor(t, 5*time.Second, 50*time.Millisecond, func() error {
		// The server (natstest) is still up, with its own goroutines.
		if n := runtime.NumGoroutine(); n > before+40 {
			return fmt.Errorf("%d goroutines, %d before", n, before)
		}
		return nil
	})
}

// gauge reads a gauge from reg (-1 when it is not there).
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

// TestDemoPageServed: GET / is the demo phone; it needs no token (it asks
// for one), and the paths it uses are the ones the edge serves.
func TestDemoPageServed(t *testing.T) {
	r := newRelay(t, edge.WHIPConfig{Token: "s3cret"})
	res, err := http.Get(r.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, want := range []string{`fetch("/whip"`, `new EventSource("/events?"`, "insertDTMF", "Sb-Peer-Call-Id", "access_token"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the demo page lacks %q", want)
		}
	}
	if res, _ := http.Get(r.srv.URL + "/nothing"); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nothing: %d, want 404", res.StatusCode)
	}
}
