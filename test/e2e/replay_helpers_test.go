package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-voip/switchboard/events"
)

// appConsumer is an application reading the event stream the way the docs
// advise: a durable JetStream consumer with explicit acks, which may
// disconnect (a crash, a deploy) and come back to the events it missed.
type appConsumer struct {
	t    *testing.T
	url  string
	name string
	seen map[string]int // event id -> times delivered and acked
	ids  []string       // in order of delivery
}

// newAppConsumer creates the durable consumer of subject, starting with
// the events published from now on.
func newAppConsumer(t *testing.T, url, name, subject string) *appConsumer {
	t.Helper()
	js, err := jetstream.New(connect(t, url))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := js.CreateOrUpdateConsumer(ctx, events.EventStream, jetstream.ConsumerConfig{
		Durable: name, FilterSubject: subject, AckPolicy: jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverNewPolicy, AckWait: 5 * time.Second,
	}); err != nil {
		t.Fatal(err)
	}
	return &appConsumer{t: t, url: url, name: name, seen: map[string]int{}}
}

// catchUp connects, reads and acks everything the consumer has pending,
// and disconnects: the application is away between two calls.
func (a *appConsumer) catchUp() {
	a.t.Helper()
	nc := connect(a.t, a.url)
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		a.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := js.Consumer(ctx, events.EventStream, a.name)
	if err != nil {
		a.t.Fatal(err)
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(256, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			a.t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			e, err := events.Parse(m.Data())
			if err != nil && !errors.Is(err, events.ErrUnknownEventType) {
				a.t.Errorf("unparsable event: %v", err)
			}
			if a.seen[e.ID]++; a.seen[e.ID] == 1 {
				a.ids = append(a.ids, e.ID)
			}
			if err := m.DoubleAck(ctx); err != nil {
				a.t.Fatal(err)
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			a.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	a.t.Fatal("the consumer did not catch up within 30 s")
}

// check: every event the live subscriber saw (ce) was delivered to the
// consumer, each exactly once.
func (a *appConsumer) check(ce *callEvents) {
	a.t.Helper()
	ce.mu.Lock()
	defer ce.mu.Unlock()
	missing := 0
	live := map[string]bool{}
	for _, e := range ce.evs {
		live[e.ID] = true
		if a.seen[e.ID] == 0 {
			missing++
			if missing <= 5 {
				a.t.Errorf("the consumer never got %s %s of %s", e.Type, e.ID, e.CallID)
			}
		}
	}
	twice := 0
	for _, n := range a.seen {
		if n > 1 {
			twice++
		}
	}
	a.t.Logf("durable consumer: %d events (%d seen live), %d missing, %d delivered twice", len(a.seen), len(live), missing, twice)
	if missing > 0 || twice > 0 {
		a.t.Errorf("the consumer missed %d and got %d twice", missing, twice)
	}
}
