package e2e

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voip/switchboard/cmd/app"
	"github.com/switchboard-voip/switchboard/cmd/config"
	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/leak"
)

// TestTwoEdgesAnyEdgeTakesAnyMessage: a call set up through edge A is hung
// up by a BYE that arrives at edge B; B's owner lookup finds the call, the
// BYE gets 200 through B, and the call completes on the platform.
func TestTwoEdgesAnyEdgeTakesAnyMessage(t *testing.T) {
	leak.Check(t)
	a := sipApp(t, 41000)
	b := runApp(t, app.Mode{Edge: true}, func(c *config.Config) {
		c.NATSURL, c.SIPHost, c.SIPPort, c.MediaIP = a.NATSURL(), "127.0.0.1", 0, "127.0.0.1"
		c.NodeID = "edge-b"
	})
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)

	ua, err := sipgo.NewUA(sipgo.WithUserAgent("e2e-uac"))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	addrA, addrB := a.SIPAddr(), b.SIPAddr()
	hostA, portA := splitHostPort(t, addrA)

	inv := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "echo", Host: hostA, Port: portA})
	inv.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "uac", Host: "127.0.0.1", Port: 5999}})
	inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	inv.SetBody([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5998 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cli.Do(ctx, inv)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("INVITE via edge A: %v %v", err, res)
	}
	if ct := res.Contact(); ct == nil || ct.Address.Port != portA {
		t.Errorf("200 OK Contact %v does not name edge A (%s)", res.Contact(), addrA)
	}
	// RFC 3261 §13.2.2.4: the ACK of a 2xx is a new request of the dialog.
	ack := sip.NewRequest(sip.ACK, res.Contact().Address)
	ack.AppendHeader(sip.HeaderClone(inv.From()))
	ack.AppendHeader(sip.HeaderClone(res.To()))
	ack.AppendHeader(sip.HeaderClone(inv.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.ACK})
	if err := cli.WriteRequest(ack); err != nil {
		t.Fatal(err)
	}
	callID := inv.CallID().Value()
	ce.wait(t, typeAnswered, callID, 1, 5*time.Second)

	// The BYE goes to edge B.
	bye := sip.NewRequest(sip.BYE, sip.Uri{Scheme: "sip", User: "echo", Host: hostA, Port: portA})
	bye.AppendHeader(sip.HeaderClone(inv.From()))
	bye.AppendHeader(sip.HeaderClone(res.To()))
	bye.AppendHeader(sip.HeaderClone(inv.CallID()))
	bye.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo + 1, MethodName: sip.BYE})
	bye.SetDestination(addrB)
	res, err = cli.Do(ctx, bye)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("BYE via edge B: %v %v", err, res)
	}
	cc := ce.wait(t, typeCompleted, callID, 1, 5*time.Second)[0].Data.(*events.CallCompleted)
	if cc.Status != events.StatusCompleted || cc.HangupBy != events.ByRemote {
		t.Errorf("completed: %+v", cc)
	}
	// A BYE for the call, now over, through either edge: 481.
	bye2 := bye.Clone()
	bye2.CSeq().SeqNo++
	bye2.RemoveHeader("Via")
	res, err = cli.Do(ctx, bye2)
	if err != nil || res.StatusCode != 481 {
		t.Fatalf("BYE of an ended call: %v %v, want 481", err, res)
	}
}

func splitHostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}
