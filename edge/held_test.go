package edge_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/edge"
	"github.com/switchboard-voip/switchboard/test/natstest"
)

// TestHeldRequestsAreBounded: requests within a dialog whose partition has
// no owner are held for it, but only so many at once; beyond that the edge
// refuses at once with 503, so a flood of requests for calls nobody owns
// does not pile up.
func TestHeldRequestsAreBounded(t *testing.T) {
	defer edge.SetMaxHeld(2)()
	s := natstest.Run(t)
	e, err := edge.NewSIPEdge(natstest.Connect(t, s), edge.SIPConfig{
		EdgeID: "e1", Host: "127.0.0.1", Port: 0, Advertise: "127.0.0.1", Partitions: 4,
	}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	var held []<-chan *sip.Response
	defer func() {
		cancel() // ends the held requests' transactions too
		for _, h := range held {
			<-h
		}
		<-done
	}()

	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	addr := e.UDPAddr()
	bye := func(i int) <-chan *sip.Response {
		req := sip.NewRequest(sip.BYE, sip.Uri{Scheme: "sip", User: "echo", Host: "127.0.0.1", Port: addr.Port})
		req.AppendHeader(sip.NewHeader("From", "<sip:uac@127.0.0.1>;tag=uac1"))
		req.AppendHeader(sip.NewHeader("To", "<sip:echo@127.0.0.1>;tag=sb1"))
		req.AppendHeader(sip.NewHeader("Call-ID", fmt.Sprintf("held-%d-%d", i, time.Now().UnixNano())))
		req.AppendHeader(&sip.CSeqHeader{SeqNo: 2, MethodName: sip.BYE})
		got := make(chan *sip.Response, 1)
		go func() {
			r, _ := cli.Do(ctx, req)
			got <- r
		}()
		return got
	}
	held = append(held, bye(1), bye(2))
	natstest.CheckFor(t, 3*time.Second, 10*time.Millisecond, func() error {
		if n := e.Held(); n != 2 {
			return fmt.Errorf("%d requests held", n)
		}
		return nil
	})
	start := time.Now()
	select {
	case r := <-bye(3):
		if r == nil || r.StatusCode != sip.StatusServiceUnavailable {
			t.Fatalf("third request: %v, want 503", r)
		}
		if took := time.Since(start); took > 500*time.Millisecond {
			t.Errorf("third request refused after %v, want at once", took)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("third request held too; want 503 at once")
	}
	for i, h := range held {
		select {
		case r := <-h:
			t.Errorf("held request %d answered %v within the hold", i+1, r)
		default:
		}
	}
}
