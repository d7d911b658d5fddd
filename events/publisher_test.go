package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/leak"
	"github.com/switchboard-voip/switchboard/test/natstest"
)

// TestPublisherRetriesUntilStored: events published while the stream is
// missing (as while its leader is being elected, nothing acknowledges
// them) are published again until it exists, and each is stored once, in
// order.
func TestPublisherRetriesUntilStored(t *testing.T) {
	leak.Check(t)
	s := natstest.Run(t)
	nc := natstest.Connect(t, s)
	pub, err := events.NewPublisher(nc, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	var ids []string
	for i := range n {
		e := events.New("n1", &events.NodeLeft{Reason: fmt.Sprint(i)})
		ids = append(ids, e.ID)
		if err := events.Publish(nc, events.NodeEventSubject("n1", "left"), e); err != nil {
			t.Fatal(err)
		}
	}
	natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if pub.Retried.Load() == 0 {
			return fmt.Errorf("no retry yet")
		}
		return nil
	})
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: events.EventStream, Subjects: []string{events.EventWildcard}, Duplicates: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	natstest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if c := pub.Confirmed.Load(); c != n {
			return fmt.Errorf("%d of %d confirmed", c, n)
		}
		return nil
	})
	pub.Close(time.Second)
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != n {
		t.Fatalf("%d events stored, want %d (each once)", info.State.Msgs, n)
	}
	for i, id := range ids {
		m, err := st.GetMsg(ctx, uint64(i+1))
		if err != nil || m.Header.Get("Nats-Msg-Id") != id {
			t.Fatalf("event %d: stored %v (%v), want id %s", i, m, err, id)
		}
	}
	if u := pub.Unconfirmed.Load(); u != 0 {
		t.Errorf("%d unconfirmed", u)
	}
}

// TestPublisherSurvivesAcksThatNeverCome: publishes whose acks never come
// and that fail with no error either (here a plain subscriber, not a
// stream, takes them: as a publish that went down with a NATS server)
// are given up on after the ack timeout, all of them, and retried; the
// publisher does not hang on the second one.
func TestPublisherSurvivesAcksThatNeverCome(t *testing.T) {
	leak.Check(t)
	s := natstest.Run(t)
	nc := natstest.Connect(t, s)
	sub, err := nc.SubscribeSync(events.NodeEventSubject("n1", "left"))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	pub, err := events.NewPublisher(nc, 7*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(0)
	for i := range 3 {
		if err := events.Publish(nc, events.NodeEventSubject("n1", "left"), events.New("n1", &events.NodeLeft{Reason: fmt.Sprint(i)})); err != nil {
			t.Fatal(err)
		}
	}
	natstest.CheckFor(t, 8*time.Second, 50*time.Millisecond, func() error {
		if r := pub.Retried.Load(); r < 3 {
			return fmt.Errorf("%d of 3 retried", r)
		}
		return nil
	})
}
