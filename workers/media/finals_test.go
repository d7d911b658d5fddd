package media

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/events"
)

// TestRepeatedHandoffGetsTheSameFinal: an edge that got no final response
// to a BYE (lost in flight while a NATS server died) hands it over again
// with the same transaction id: the owner answers with the same 200, not
// a 481 for the call the first copy ended, and ends the call once.
func TestRepeatedHandoffGetsTheSameFinal(t *testing.T) {
	rg := newRig(t)
	_, callID := rg.answeredCall(phoneOpts{user: "echo"})
	var bye string
	rg.call(callID, func(c *Call) {
		bye = strings.Join([]string{
			"BYE sip:switchboard@127.0.0.1 SIP/2.0",
			"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-again",
			"From: <" + c.RemoteURI + ">;tag=" + c.RemoteTag,
			"To: <" + c.LocalURI + ">;tag=" + c.LocalTag,
			"Call-ID: " + callID,
			fmt.Sprintf("CSeq: %d BYE", c.RemoteCSeq+1),
			"Max-Forwards: 70",
			"Content-Length: 0",
			"", ""}, "\r\n")
	})
	if bye == "" {
		t.Fatal("no call")
	}
	got := make(chan string, 4)
	sub, err := rg.nc.Subscribe(events.EdgeSIPSubject("lossy"), func(m *nats.Msg) {
		if m.Header.Get(events.HdrTx) == "lossy-1" {
			got <- strings.SplitN(string(m.Data), "\r\n", 2)[0]
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	handoff := func() string {
		m := nats.NewMsg(events.PartitionSubject(events.RoleMedia, events.Partition(callID, rigPartitions), "sip"))
		m.Data = []byte(bye)
		m.Header.Set(events.HdrEdge, "lossy")
		m.Header.Set(events.HdrTx, "lossy-1")
		m.Header.Set(events.HdrKind, events.KindRequest)
		m.Header.Set(events.HdrTransport, "UDP")
		m.Header.Set(events.HdrSource, "127.0.0.1:5999")
		if _, err := rg.nc.RequestMsg(m, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		select {
		case line := <-got:
			return line
		case <-time.After(2 * time.Second):
			t.Fatal("no response")
			return ""
		}
	}
	first, second := handoff(), handoff()
	t.Logf("first: %s; again: %s", first, second)
	if first != "SIP/2.0 200 OK" || second != first {
		t.Errorf("BYE answered %q, then %q when handed over again; want 200 both times", first, second)
	}
	waitEvent[*events.CallCompleted](t, rg.calls, callID, 2*time.Second)
	time.Sleep(200 * time.Millisecond)
	rg.calls.mu.Lock()
	n := 0
	for _, e := range rg.calls.evs {
		if _, ok := e.Data.(*events.CallCompleted); ok && e.CallID == callID {
			n++
		}
	}
	rg.calls.mu.Unlock()
	if n != 1 {
		t.Errorf("%d call.completed events, want 1", n)
	}
}
