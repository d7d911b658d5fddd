package dtmf

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/leak"
	"github.com/switchboard-voip/switchboard/test/natstest"
	"github.com/switchboard-voip/switchboard/workers/dtmf/feed"
	"github.com/switchboard-voip/switchboard/workers/dtmf/rfc4733"
)

const partitions = 64

// harness runs a Role on an in-process NATS server, owning every
// partition, and records the events it publishes.
type harness struct {
	t      testing.TB
	srv    *server.Server
	reg    *prometheus.Registry
	r      *Role
	nc     *nats.Conn
	notify chan events.Event // every event, dropped when full
	mu     sync.Mutex
	evs    []events.Event
	recv   []time.Time
}

func newHarness(t testing.TB) *harness {
	srv := natstest.Run(t)
	nc := natstest.Connect(t, srv)
	reg := prometheus.NewRegistry()
	r, err := New(nc, Config{NodeID: "n1", Tick: 10 * time.Millisecond}, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, srv: srv, reg: reg, r: r, nc: nc, notify: make(chan events.Event, 1024)}
	for p := range partitions {
		if err := r.TakeOver(context.Background(), p, false); err != nil {
			t.Fatal(err)
		}
	}
	sub, err := nc.Subscribe("sb.evt.call.>", func(m *nats.Msg) {
		e, err := events.Parse(m.Data)
		if err != nil {
			t.Errorf("bad event: %v", err)
			return
		}
		h.mu.Lock()
		h.evs = append(h.evs, e)
		h.recv = append(h.recv, time.Now())
		h.mu.Unlock()
		select {
		case h.notify <- e:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	t.Cleanup(func() {
		_ = sub.Unsubscribe()
		for p := range partitions {
			_ = r.Release(context.Background(), p, false)
		}
		r.Close()
	})
	return h
}

// metric is the value of counter name whose only label has value label.
func (h *harness) metric(name, label string) float64 {
	fams, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if l := m.GetLabel(); len(l) == 1 && l[0].GetValue() == label {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// send hands a record to the role as the runtime would.
func (h *harness) send(callID, kind string, data []byte) {
	p := events.Partition(callID, partitions)
	h.r.HandleMessage(p, kind, &nats.Msg{Subject: feed.Subject(callID, partitions, kind), Data: data})
}

func (h *harness) rtp(callID string, st rfc4733.Step, ssrc uint32, seq uint16) {
	h.send(callID, feed.KindRTP, feed.AppendRTP(nil, callID, time.Now(), feed.RTP{
		SSRC: ssrc, Seq: seq, Timestamp: 1000 + st.Timestamp, Marker: st.Marker, ClockRate: 8000, Payload: st.Payload[:],
	}))
}

// of returns the events of a type for a call.
func (h *harness) of(typ, callID string) []events.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []events.Event
	for _, e := range h.evs {
		if e.Type == typ && e.CallID == callID {
			out = append(out, e)
		}
	}
	return out
}

func (h *harness) wait(typ, callID string, n int) []events.Event {
	h.t.Helper()
	var got []events.Event
	natstest.CheckFor(h.t, 3*time.Second, 5*time.Millisecond, func() error {
		if got = h.of(typ, callID); len(got) < n {
			return fmt.Errorf("%d of %d %s", len(got), n, typ)
		}
		return nil
	})
	return got
}

const (
	tDTMF    = "io.switchboard.call.v1.dtmf"
	tStarted = "io.switchboard.call.v1.dtmf_started"
	tGather  = "io.switchboard.call.v1.gather_completed"
)

func keys(evs []events.Event) (s string, seqs []uint64) {
	for _, e := range evs {
		switch d := e.Data.(type) {
		case *events.CallDTMF:
			s += d.Digit
			seqs = append(seqs, d.Seq)
		case *events.CallDTMFStarted:
			s += d.Digit
			seqs = append(seqs, d.Seq)
		case *events.CallGatherCompleted:
			s += d.Digits + "/" + d.Reason + ";"
		}
	}
	return s, seqs
}

// TestRFC4733Presses: Generate's packets for "1223#" give five presses
// (the repeated 2 included), numbered 1-5 in both event types; a second
// call counts on its own.
func TestRFC4733Presses(t *testing.T) {
	leak.Check(t)
	h := newHarness(t)
	steps, err := rfc4733.Generate("1223#", rfc4733.GenerateConfig{ClockRate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range steps {
		h.rtp("a@x", st, 7, uint16(i))
	}
	for i, st := range steps[:len(steps)/2] {
		h.rtp("b@x", st, 9, uint16(i))
	}
	want := []uint64{1, 2, 3, 4, 5}
	if s, seqs := keys(h.wait(tDTMF, "a@x", 5)); s != "1223#" || !slices.Equal(seqs, want) {
		t.Errorf("dtmf %q %v", s, seqs)
	}
	if s, seqs := keys(h.wait(tStarted, "a@x", 5)); s != "1223#" || !slices.Equal(seqs, want) {
		t.Errorf("dtmf_started %q %v", s, seqs)
	}
	if s, seqs := keys(h.wait(tStarted, "b@x", 1)); s[0] != '1' || seqs[0] != 1 {
		t.Errorf("second call: %q %v", s, seqs)
	}
	if v := h.metric("sb_dtmf_digits_total", events.DTMFSourceRFC4733); v < 5 {
		t.Errorf("digits counted: %v", v)
	}
}

// TestLostEndExpires: a press whose end packets never come ends on the
// role's ticker, and the call's end flushes one in progress.
func TestLostEndExpires(t *testing.T) {
	leak.Check(t)
	h := newHarness(t)
	steps, _ := rfc4733.Generate("5", rfc4733.GenerateConfig{ClockRate: 8000, Tone: 200 * time.Millisecond})
	var noEnd []rfc4733.Step
	for _, st := range steps {
		if !st.End {
			noEnd = append(noEnd, st)
		}
	}
	for i, st := range noEnd {
		h.rtp("lost@x", st, 1, uint16(i))
	}
	if s, _ := keys(h.wait(tDTMF, "lost@x", 1)); s != "5" {
		t.Errorf("expired: %q", s)
	}
	for i, st := range noEnd[:3] {
		h.rtp("ended@x", st, 1, uint16(i))
	}
	h.send("ended@x", feed.KindEnd, feed.AppendEnd(nil, "ended@x", time.Now()))
	if s, _ := keys(h.wait(tDTMF, "ended@x", 1)); s != "5" {
		t.Errorf("flushed at the end: %q", s)
	}
}

// TestBadInput: malformed records and telephone-event payloads are counted
// and change nothing; an INFO with a bad digit is counted.
func TestBadInput(t *testing.T) {
	leak.Check(t)
	h := newHarness(t)
	h.send("x@y", feed.KindRTP, []byte{1, 2, 3})
	h.send("x@y", feed.KindRTP, feed.AppendEnd(nil, "x@y", time.Now())) // a header without a body
	h.send("x@y", "bogus", feed.AppendEnd(nil, "x@y", time.Now()))
	h.send("x@y", feed.KindRTP, feed.AppendRTP(nil, "x@y", time.Now(), feed.RTP{SSRC: 1, ClockRate: 8000, Payload: []byte{1, 2, 3}}))
	h.send("x@y", feed.KindRTP, feed.AppendRTP(nil, "x@y", time.Now(), feed.RTP{SSRC: 1, ClockRate: 8000, Payload: []byte{1, 2, 3, 4, 5}}))
	h.send("x@y", feed.KindInfo, feed.AppendInfo(nil, "x@y", time.Now(), feed.Info{Digit: 'x'}))
	h.send("x@y", feed.KindPCM, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'x', 1})
	e := func(reason string) float64 { return h.metric("sb_dtmf_errors_total", reason) }
	if e("malformed_record") != 3 || e("malformed_telephone_event") != 2 || e("bad_info_digit") != 1 || e("unknown_kind") != 1 {
		t.Errorf("errors: record %v payload %v info %v kind %v", e("malformed_record"), e("malformed_telephone_event"), e("bad_info_digit"), e("unknown_kind"))
	}
	time.Sleep(50 * time.Millisecond)
	if got := h.of(tDTMF, "x@y"); len(got) != 0 {
		t.Errorf("events from garbage: %v", got)
	}
}

// TestGatherRules: finish key (with min_digits), max_digits, timeouts and
// hangup, with digits from SIP INFO. The call must be live in the media
// role's KV, else 404.
func TestGatherRules(t *testing.T) {
	leak.Check(t)
	h := newHarness(t)
	kv, err := h.r.js.CreateKeyValue(context.Background(), jetstream.KeyValueConfig{Bucket: events.BucketCalls})
	if err != nil {
		t.Fatal(err)
	}
	call := "g@x"
	p := events.Partition(call, partitions)
	if _, err := kv.Put(context.Background(), events.CallKey(p, call), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	gather := func(body string) int {
		t.Helper()
		m, err := h.nc.Request(events.PartitionCommandSubject(events.RoleDTMF, p, "gather"), []byte(body), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var rep events.Reply
		_ = json.Unmarshal(m.Data, &rep)
		return rep.Code
	}
	// What the runtime does: commands of p to the role.
	sub, _ := h.nc.Subscribe(events.PartitionCommandSubject(events.RoleDTMF, p, "gather"), func(m *nats.Msg) {
		h.r.HandleCommand(p, "gather", m)
	})
	defer func() { _ = sub.Unsubscribe() }()
	press := func(keys string) {
		for i := range len(keys) {
			h.send(call, feed.KindInfo, feed.AppendInfo(nil, call, time.Now(), feed.Info{Digit: keys[i]}))
		}
	}
	if c := gather(`{"call_id":"nobody@x"}`); c != events.CodeNotFound {
		t.Errorf("unknown call: %d", c)
	}
	if c := gather(`{"call_id":"g@x","min_digits":2}`); c != events.CodeAccepted {
		t.Fatalf("gather: %d", c)
	}
	press("1#2#")
	h.wait(tGather, call, 1)
	if c := gather(`{"call_id":"g@x","max_digits":3,"finish_on_key":"none"}`); c != events.CodeAccepted {
		t.Fatalf("gather: %d", c)
	}
	press("#*9")
	h.wait(tGather, call, 2)
	gather(`{"call_id":"g@x","first_timeout_ms":30}`)
	h.wait(tGather, call, 3)
	gather(`{"call_id":"g@x","inter_digit_timeout_ms":30}`)
	press("4")
	h.wait(tGather, call, 4)
	gather(`{"call_id":"g@x"}`)
	press("7")
	h.send(call, feed.KindEnd, feed.AppendEnd(nil, call, time.Now()))
	got, _ := keys(h.wait(tGather, call, 5))
	if want := "12/finish_key;#*9/max_digits;/timeout;4/timeout;7/hangup;"; got != want {
		t.Errorf("gathers %q, want %q", got, want)
	}
	if c := gather(`{"call_id":"g@x","min_digits":5,"max_digits":2}`); c != events.CodeBadRequest {
		t.Errorf("min > max: %d", c)
	}
}

// BenchmarkRFC4733Latency measures, through a real NATS server, the time
// from a telephone-event packet's arrival at the media worker (the record's
// time; the record crosses NATS to the role as in production) to a
// subscriber's receipt of the event: dtmf_started for the first packet of
// a press, dtmf for its end packet. load calls send in-band audio records
// (50 a second each) meanwhile.
func BenchmarkRFC4733Latency(b *testing.B) {
	for _, load := range []int{0, 500} {
		b.Run(fmt.Sprintf("inband_calls=%d", load), func(b *testing.B) { benchLatency(b, load) })
	}
}

func benchLatency(b *testing.B, load int) {
	h := newHarness(b)
	for p := range partitions {
		prefix := events.PartitionPrefix(events.RoleDTMF, p)
		sub, err := h.nc.Subscribe(prefix+".>", func(m *nats.Msg) { h.r.HandleMessage(p, m.Subject[len(prefix)+1:], m) })
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = sub.Unsubscribe() })
	}
	_ = h.nc.Flush()
	pub := natstest.Connect(b, h.srv)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if load > 0 {
		wg.Go(func() {
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			pcm := make([]int16, 160)
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					for i := range load {
						id := fmt.Sprintf("load-%d@x", i)
						_ = pub.Publish(feed.Subject(id, partitions, feed.KindPCM), feed.AppendPCM(nil, id, time.Now(), pcm))
					}
				}
			}
		})
	}
	steps, _ := rfc4733.Generate("5", rfc4733.GenerateConfig{ClockRate: 8000})
	first, end := steps[0], steps[len(steps)-1]
	var started, ended []float64
	await := func(typ, id string) time.Time {
		for {
			select {
			case e := <-h.notify:
				if e.Type == typ && e.CallID == id {
					return time.Now()
				}
			case <-time.After(5 * time.Second):
				b.Fatalf("no %s for %s", typ, id)
			}
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("lat-%d@x", i)
		subj := feed.Subject(id, partitions, feed.KindRTP)
		t0 := time.Now()
		_ = pub.Publish(subj, feed.AppendRTP(nil, id, t0, feed.RTP{SSRC: 1, Seq: 1, Timestamp: first.Timestamp, Marker: true, ClockRate: 8000, Payload: first.Payload[:]}))
		started = append(started, float64(await(tStarted, id).Sub(t0).Microseconds())/1000)
		t1 := time.Now()
		_ = pub.Publish(subj, feed.AppendRTP(nil, id, t1, feed.RTP{SSRC: 1, Seq: 2, Timestamp: end.Timestamp, ClockRate: 8000, Payload: end.Payload[:]}))
		ended = append(ended, float64(await(tDTMF, id).Sub(t1).Microseconds())/1000)
		_ = pub.Publish(feed.Subject(id, partitions, feed.KindEnd), feed.AppendEnd(nil, id, time.Now()))
		if load > 0 {
			time.Sleep(10 * time.Millisecond) // spread the presses over the load's ticks
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	pct := func(v []float64, q float64) float64 {
		sort.Float64s(v)
		return v[min(len(v)-1, int(q*float64(len(v))))]
	}
	b.ReportMetric(pct(started, 0.5), "p50_started_ms")
	b.ReportMetric(pct(started, 0.99), "p99_started_ms")
	b.ReportMetric(pct(ended, 0.5), "p50_ended_ms")
	b.ReportMetric(pct(ended, 0.99), "p99_ended_ms")
}
