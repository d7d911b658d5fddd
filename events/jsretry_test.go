package events_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/natstest"
)

// TestRetryWaitsForJetStream: a bucket asked for while the server is away
// (a node starting while its NATS server restarts, or while JetStream
// elects a leader) is created once it is back, not refused; a refusal (a
// bad name) is returned at once, and a cancelled context stops the wait.
func TestRetryWaitsForJetStream(t *testing.T) {
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true}
	s1, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s1.Start()
	if !s1.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	nc := natstest.Connect(t, s1)
	js1, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	opts2 := *opts
	opts2.Port = s1.Addr().(*net.TCPAddr).Port
	s1.Shutdown()
	s1.WaitForShutdown()
	// Away for longer than one attempt may wait (the client would deliver
	// a request made while it reconnects, had the server come back sooner).
	const away = 6 * time.Second
	back := time.AfterFunc(away, func() {
		s2, err := server.NewServer(&opts2)
		if err != nil {
			t.Error(err)
			return
		}
		go s2.Start()
		t.Cleanup(func() { s2.Shutdown(); s2.WaitForShutdown() })
	})
	defer back.Stop()
	start := time.Now()
	kv, err := events.Retry(context.Background(), func(ctx context.Context) (jetstream.KeyValue, error) {
		return js1.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "later"})
	})
	if err != nil || kv == nil {
		t.Fatalf("bucket while the server was away: %v after %v", err, time.Since(start))
	}
	if took := time.Since(start); took < away {
		t.Fatalf("created after %v, before the server was back", took)
	}

	s := natstest.Run(t)
	js, err := jetstream.New(natstest.Connect(t, s))
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	_, err = events.Retry(context.Background(), func(ctx context.Context) (jetstream.KeyValue, error) {
		return js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "bad name"})
	})
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("bad bucket name: %v after %v; want an error at once", err, time.Since(start))
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start = time.Now()
	_, err = events.Retry(ctx, func(context.Context) (int, error) { return 0, nats.ErrNoResponders })
	if !errors.Is(err, nats.ErrNoResponders) || time.Since(start) > 2*time.Second {
		t.Fatalf("cancelled: %v after %v", err, time.Since(start))
	}
}
