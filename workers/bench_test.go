package workers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/leak"
	"github.com/switchboard-voip/switchboard/test/natstest"
	"github.com/switchboard-voip/switchboard/workers"
)

// signalRole is a media role whose HandleMessage tells the benchmark a
// message arrived.
type signalRole struct {
	workers.BaseRole
	got chan string
}

func (r *signalRole) HandleMessage(_ int, kind string, _ *nats.Msg) { r.got <- kind }

// benchNode starts a real in-process nats-server and one node running only
// the media role, waits until it owns every partition and is ready, and
// returns a separate client connection (an edge's, say) to send from.
func benchNode(b *testing.B) (*signalRole, *nats.Conn) {
	b.Helper()
	leak.Check(b)
	s := natstest.Run(b)
	nc := natstest.Connect(b, s)
	role := &signalRole{BaseRole: workers.BaseRole{RoleName: events.RoleMedia}, got: make(chan string, 1)}
	c := cfg("bench-a")
	c.Roles = []string{events.RoleMedia}
	n, err := workers.New(context.Background(), nc, c, []workers.Role{role}, workers.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	natstest.CheckFor(b, 10*time.Second, 10*time.Millisecond, func() error {
		if got := len(n.Owned(events.RoleMedia)); got != P {
			return fmt.Errorf("owns %d of %d partitions", got, P)
		}
		if !n.Ready() {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	return role, natstest.Connect(b, s)
}

// latencies collects one duration per iteration and reports p50/p99.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	q := func(f float64) float64 { return float64(l[min(len(l)-1, int(f*float64(len(l))))].Nanoseconds()) }
	b.ReportMetric(q(0.50), "p50-ns")
	b.ReportMetric(q(0.99), "p99-ns")
}

// BenchmarkPublishToOwner measures the latency from a publish on
// sb.p.<p>.sip to the owner's HandleMessage, through a real nats-server on
// loopback. One message is in flight at a time, so ns/op is the one-way
// publish-to-handler latency plus the (in-process) signal back.
func BenchmarkPublishToOwner(b *testing.B) {
	role, cli := benchNode(b)
	payload := []byte(`SIP/2.0 200 OK`)
	lat := make(latencies, 0, 1<<20)
	for i := 0; b.Loop(); i++ {
		subj := events.PartitionSubject(events.RoleMedia, i%P, "sip")
		t0 := time.Now()
		if err := cli.Publish(subj, payload); err != nil {
			b.Fatal(err)
		}
		select {
		case kind := <-role.got:
			if kind != "sip" {
				b.Fatalf("handler got kind %q", kind)
			}
		case <-time.After(5 * time.Second):
			b.Fatalf("no delivery of %s", subj)
		}
		lat = append(lat, time.Since(t0))
	}
	lat.report(b)
}

// BenchmarkCommandRoundTrip measures a request to sb.p.<p>.cmd.locate and
// its reply from the owner: client -> server -> owner -> server -> client.
func BenchmarkCommandRoundTrip(b *testing.B) {
	_, cli := benchNode(b)
	// The first request sets up the client's reply subscription.
	if _, err := cli.Request(events.PartitionCommandSubject(events.RoleMedia, 0, "locate"), []byte(`{}`), 5*time.Second); err != nil {
		b.Fatal(err)
	}
	req := []byte(`{"call_id":"a84b4c76e66710@pc33.atlanta.com"}`)
	lat := make(latencies, 0, 1<<20)
	for i := 0; b.Loop(); i++ {
		p := i % P
		t0 := time.Now()
		m, err := cli.Request(events.PartitionCommandSubject(events.RoleMedia, p, "locate"), req, 5*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		if i%1024 == 0 {
			var r events.LocateReply
			if err := json.Unmarshal(m.Data, &r); err != nil || r.Code != events.CodeOK || r.Partition == nil || *r.Partition != p {
				b.Fatalf("reply %s (%v)", m.Data, err)
			}
		}
	}
	lat.report(b)
}
