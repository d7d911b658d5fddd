package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-voip/switchboard/cmd/app"
	"github.com/switchboard-voip/switchboard/cmd/config"
	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/leak"
	"github.com/switchboard-voip/switchboard/test/natstest"
	"github.com/switchboard-voip/switchboard/workers/media"
)

// uac is a real SIP user agent client (sipgo) for tests that need to look
// at individual responses.
type uac struct {
	t   *testing.T
	cli *sipgo.Client
}

func newUAC(t *testing.T) *uac {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("e2e-uac"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	return &uac{t: t, cli: cli}
}

const pcmuOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5998 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

// start sends an INVITE to user@edge and returns its client transaction,
// which the test's end terminates.
func (u *uac) start(edge, user, body string) (*sip.Request, sip.ClientTransaction) {
	u.t.Helper()
	host, port := splitHostPort(u.t, edge)
	inv := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: user, Host: host, Port: port})
	inv.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "uac", Host: "127.0.0.1", Port: 5999}})
	if body != "" {
		inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		inv.SetBody([]byte(body))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tx, err := u.cli.TransactionRequest(ctx, inv)
	if err != nil {
		cancel()
		u.t.Fatal(err)
	}
	u.t.Cleanup(func() { tx.Terminate(); cancel() })
	return inv, tx
}

// invite sends an INVITE to user@edge and returns the request and every
// response up to the final one.
func (u *uac) invite(edge, user, body string) (*sip.Request, []*sip.Response) {
	u.t.Helper()
	inv, tx := u.start(edge, user, body)
	var all []*sip.Response
	timeout := time.After(10 * time.Second)
	for {
		select {
		case res := <-tx.Responses():
			all = append(all, res)
			if res.StatusCode >= 200 {
				return inv, all
			}
		case <-tx.Done():
			u.t.Fatalf("INVITE transaction ended without a final response: %v", tx.Err())
		case <-timeout:
			u.t.Fatal("no final response to INVITE")
		}
	}
}

// ack acknowledges a 2xx (RFC 3261 §13.2.2.4), with an optional SDP answer.
func (u *uac) ack(inv *sip.Request, res *sip.Response, body string) {
	u.t.Helper()
	ack := sip.NewRequest(sip.ACK, res.Contact().Address)
	ack.AppendHeader(sip.HeaderClone(inv.From()))
	ack.AppendHeader(sip.HeaderClone(res.To()))
	ack.AppendHeader(sip.HeaderClone(inv.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.ACK})
	if body != "" {
		ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		ack.SetBody([]byte(body))
	}
	if err := u.cli.WriteRequest(ack); err != nil {
		u.t.Fatal(err)
	}
}

func (u *uac) bye(inv *sip.Request, res *sip.Response) *sip.Response {
	u.t.Helper()
	bye := sip.NewRequest(sip.BYE, res.Contact().Address)
	bye.AppendHeader(sip.HeaderClone(inv.From()))
	bye.AppendHeader(sip.HeaderClone(res.To()))
	bye.AppendHeader(sip.HeaderClone(inv.CallID()))
	bye.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo + 1, MethodName: sip.BYE})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := u.cli.Do(ctx, bye)
	if err != nil {
		u.t.Fatal(err)
	}
	return r
}

func final(rs []*sip.Response) *sip.Response { return rs[len(rs)-1] }

// newUACTakingBYE is a UAC that also answers the BYEs sent to it (200) and
// hands them to the test.
func newUACTakingBYE(t *testing.T) (*uac, <-chan *sip.Request) {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("e2e-uac"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv, _ := sipgo.NewServer(ua)
	byes := make(chan *sip.Request, 4)
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		select {
		case byes <- req:
		default:
		}
	})
	cli, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	return &uac{t: t, cli: cli}, byes
}

// edgeAlone runs an edge, and no worker, on s.
func edgeAlone(t *testing.T, s *server.Server) *app.App {
	t.Helper()
	e := runApp(t, app.Mode{Edge: true}, func(c *config.Config) { c.NATSURL = s.ClientURL() })
	if e.SIPAddr() == "" {
		t.Fatal("edge has no SIP")
	}
	return e
}

// TestNoOwnerGets503: an edge whose cluster has no media worker answers
// INVITE with 503 and Retry-After at once, never a hang.
func TestNoOwnerGets503(t *testing.T) {
	s := natstest.Run(t)
	e := edgeAlone(t, s)
	start := time.Now()
	_, rs := newUAC(t).invite(e.SIPAddr(), "echo", pcmuOffer)
	res := final(rs)
	if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
		t.Fatalf("got %d %v, want 503 with Retry-After", res.StatusCode, res.GetHeader("Retry-After"))
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("503 took %v", took)
	}
}

// TestInDialogRequestWaitsForItsOwner: a request within a dialog (a BYE)
// whose partition has no owner is held, not refused: its call's owner is
// coming back (a node resuming after a NATS server died). Here the media
// worker starts 2 s after the BYE arrived; the BYE reaches it and gets its
// answer (481: this worker never had the call), not the edge's 503.
func TestInDialogRequestWaitsForItsOwner(t *testing.T) {
	s := natstest.Run(t)
	e := edgeAlone(t, s)
	u := newUAC(t)
	bye := sip.NewRequest(sip.BYE, sip.Uri{Scheme: "sip", User: "echo", Host: "127.0.0.1", Port: int(netip.MustParseAddrPort(e.SIPAddr()).Port())})
	bye.AppendHeader(sip.NewHeader("From", "<sip:uac@127.0.0.1>;tag=uac1"))
	bye.AppendHeader(sip.NewHeader("To", "<sip:echo@127.0.0.1>;tag=sb1"))
	bye.AppendHeader(sip.NewHeader("Call-ID", "held-bye-"+strconv.FormatInt(time.Now().UnixNano(), 36)))
	bye.AppendHeader(&sip.CSeqHeader{SeqNo: 2, MethodName: sip.BYE})
	start := time.Now()
	got := make(chan *sip.Response, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		r, err := u.cli.Do(ctx, bye)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	time.Sleep(2 * time.Second)
	runApp(t, app.Mode{Roles: []string{events.RoleMedia}}, func(c *config.Config) {
		c.NodeID, c.NATSURL = "late-worker", s.ClientURL()
		c.RTPPortMin, c.RTPPortMax = 46700, 46799
	})
	res := <-got
	if res == nil {
		return
	}
	if res.StatusCode != sip.StatusCallTransactionDoesNotExists {
		t.Fatalf("BYE: %d %s, want the worker's 481", res.StatusCode, res.Reason)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("answered after %v, before any worker ran", took)
	}
}

// TestInviteWithoutSDP: we offer in the 200 OK and take the answer from the
// ACK (RFC 3261 §13.2.1); the call is up with the codec the ACK chose.
func TestInviteWithoutSDP(t *testing.T) {
	a := sipApp(t, 41200)
	ce := watchCalls(t, connect(t, a.NATSURL()))
	u := newUAC(t)
	inv, rs := u.invite(a.SIPAddr(), "echo", "")
	res := final(rs)
	if res.StatusCode != 200 || !strings.Contains(string(res.Body()), "m=audio") || !strings.Contains(string(res.Body()), "PCMA/8000") {
		t.Fatalf("200 without our offer: %d\n%s", res.StatusCode, res.Body())
	}
	u.ack(inv, res, strings.Replace(strings.Replace(pcmuOffer, "RTP/AVP 0", "RTP/AVP 8", 1), "0 PCMU", "8 PCMA", 1))
	callID := inv.CallID().Value()
	ce.wait(t, typeAnswered, callID, 1, 5*time.Second)
	if r := u.bye(inv, res); r.StatusCode != 200 {
		t.Fatalf("BYE: %d", r.StatusCode)
	}
	ce.wait(t, typeCompleted, callID, 1, 5*time.Second)
}

// TestNoCommonCodecGets488: an offer of G.729 only is refused with 488 and
// a Warning, and the refusal is an event.
func TestNoCommonCodecGets488(t *testing.T) {
	a := sipApp(t, 41400)
	ce := watchCalls(t, connect(t, a.NATSURL()))
	g729 := strings.Replace(strings.Replace(pcmuOffer, "RTP/AVP 0", "RTP/AVP 18", 1), "0 PCMU/8000", "18 G729/8000", 1)
	inv, rs := newUAC(t).invite(a.SIPAddr(), "echo", g729)
	if res := final(rs); res.StatusCode != 488 || res.GetHeader("Warning") == nil {
		t.Fatalf("got %d, want 488 with a Warning", res.StatusCode)
	}
	cc := ce.wait(t, typeCompleted, inv.CallID().Value(), 1, 5*time.Second)[0].Data.(*events.CallCompleted)
	if cc.Status != events.StatusFailed || cc.SIPCode != 488 {
		t.Errorf("completed: %+v", cc)
	}
}

// TestRingTimeoutAndReject: an app-routed call nobody answers gets 480
// after ring_timeout (no-answer); one the app rejects gets the code asked.
func TestRingTimeoutAndReject(t *testing.T) {
	leak.Check(t)
	a := sipApp(t, 41600, func(c *config.Config) { c.RingTimeout = time.Second })
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	u := newUAC(t)
	inv, rs := u.invite(a.SIPAddr(), "nobody", pcmuOffer)
	if res := final(rs); res.StatusCode != 480 {
		t.Fatalf("unanswered call got %d, want 480", res.StatusCode)
	}
	if len(rs) < 2 || rs[len(rs)-2].StatusCode != 180 {
		t.Errorf("no 180 before the 480: %v", rs)
	}
	cc := ce.wait(t, typeCompleted, inv.CallID().Value(), 1, 5*time.Second)[0].Data.(*events.CallCompleted)
	if cc.Status != events.StatusNoAnswer || cc.HangupBy != events.ByPlatform {
		t.Errorf("completed: %+v", cc)
	}

	// Reject: the INVITE's final response comes after the command.
	inv, tx := u.start(a.SIPAddr(), "carol", pcmuOffer)
	ce.wait(t, typeRinging, inv.CallID().Value(), 1, 5*time.Second)
	if r := cmdReq[events.Reply](t, nc, "reject", map[string]any{"call_id": inv.CallID().Value(), "code": 486}); r.Code != 200 {
		t.Fatalf("reject: %+v", r)
	}
	for res := range tx.Responses() {
		if res.StatusCode >= 200 {
			if res.StatusCode != 486 {
				t.Fatalf("rejected call got %d, want 486", res.StatusCode)
			}
			break
		}
	}
	cc = ce.wait(t, typeCompleted, inv.CallID().Value(), 1, 5*time.Second)[0].Data.(*events.CallCompleted)
	if cc.Status != events.StatusBusy || cc.HangupBy != events.ByApp {
		t.Errorf("completed: %+v", cc)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestCallStateIsInKV: while a call is up, everything needed to continue
// its dialog is in KV; when it ends, the record is gone.
func TestCallStateIsInKV(t *testing.T) {
	a := sipApp(t, 41800)
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	u := newUAC(t)
	inv, rs := u.invite(a.SIPAddr(), "echo", pcmuOffer)
	res := final(rs)
	u.ack(inv, res, "")
	callID := inv.CallID().Value()
	ce.wait(t, typeAnswered, callID, 1, 5*time.Second)

	js, _ := jetstream.New(nc)
	kv, err := js.KeyValue(context.Background(), media.BucketCalls)
	if err != nil {
		t.Fatal(err)
	}
	key := itoa(events.Partition(callID, 64)) + "." + events.EncodeCallID(callID)
	var c media.Call
	natstest.CheckFor(t, 3*time.Second, 20*time.Millisecond, func() error {
		e, err := kv.Get(context.Background(), key)
		if err != nil {
			return err
		}
		return json.Unmarshal(e.Value(), &c)
	})
	toTag, _ := res.To().Params.Get("tag")
	fromTag, _ := inv.From().Params.Get("tag")
	for name, ok := range map[string]bool{
		"call id": c.ID == callID, "local tag": c.LocalTag == toTag, "remote tag": c.RemoteTag == fromTag,
		"remote target": c.RemoteTarget == "sip:uac@127.0.0.1:5999", "remote cseq": c.RemoteCSeq == inv.CSeq().SeqNo,
		"edge": c.Edge != "", "codec": c.Codec == "PCMU/8000", "local rtp": c.LocalRTP != "",
		"remote rtp": c.RemoteRTP == "127.0.0.1:5998", "state": c.State == media.StateAnswered,
	} {
		if !ok {
			t.Errorf("KV record: wrong %s: %+v", name, &c)
		}
	}
	u.bye(inv, res)
	ce.wait(t, typeCompleted, callID, 1, 5*time.Second)
	natstest.CheckFor(t, 3*time.Second, 20*time.Millisecond, func() error {
		if _, err := kv.Get(context.Background(), key); err == nil {
			return errString("record still in KV")
		}
		return nil
	})
}

// TestProvisionalAndFinalShareTheToTag: the 180 and the 200 of one INVITE
// carry the same To tag (RFC 3261 §8.2.6.2), or the caller sees two dialogs.
func TestProvisionalAndFinalShareTheToTag(t *testing.T) {
	a := sipApp(t, 42000)
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	u := newUAC(t)
	inv, tx := u.start(a.SIPAddr(), "dave", pcmuOffer)
	ce.wait(t, typeRinging, inv.CallID().Value(), 1, 5*time.Second)
	if r := cmdReq[events.Reply](t, nc, "answer", map[string]any{"call_id": inv.CallID().Value()}); r.Code != 200 {
		t.Fatalf("answer: %+v", r)
	}
	tags := map[int]string{}
	for res := range tx.Responses() {
		tags[res.StatusCode], _ = res.To().Params.Get("tag")
		if res.StatusCode >= 200 {
			u.ack(inv, res, "")
			break
		}
	}
	if tags[180] == "" || tags[180] != tags[200] {
		t.Fatalf("To tags differ: 180 %q, 200 %q", tags[180], tags[200])
	}
}

// TestDeadMediaIsHungUp: an answered call that receives no RTP for
// media_timeout is ended with a BYE to the far end and call.completed.
func TestDeadMediaIsHungUp(t *testing.T) {
	leak.Check(t)
	a := sipApp(t, 42200, func(c *config.Config) { c.MediaTimeout = 2 * time.Second })
	ce := watchCalls(t, connect(t, a.NATSURL()))
	u, byes := newUACTakingBYE(t)
	inv, rs := u.invite(a.SIPAddr(), "echo", pcmuOffer)
	u.ack(inv, final(rs), "")
	callID := inv.CallID().Value()
	cc := ce.wait(t, typeCompleted, callID, 1, 8*time.Second)[0].Data.(*events.CallCompleted)
	if cc.HangupBy != events.ByPlatform || cc.Reason != "media timeout" {
		t.Errorf("completed: %+v", cc)
	}
	select {
	case bye := <-byes:
		if bye.CallID().Value() != callID {
			t.Errorf("BYE for another call: %s", bye.CallID().Value())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the far end got no BYE")
	}
}

// TestTakenOverCallRefusingMoveEnds: a call whose owner left is loaded by
// the new owner from KV, which re-INVITEs the caller to move the media to
// itself; this caller (a UA with no INVITE handler: 405) refuses, so the
// new owner hangs up with a BYE rather than keep a call nobody hears.
// (Callers that accept: test/e2e/failover_test.go.)
func TestTakenOverCallRefusingMoveEnds(t *testing.T) {
	short := func(c *config.Config) { c.MediaTimeout = 2 * time.Second }
	a := sipApp(t, 46200, short)
	u, byes := newUACTakingBYE(t)
	cli := u.cli
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)

	// Node B joins with media only; find a Call-ID whose partition it owns.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bcfg := config.Default()
	bcfg.NodeID, bcfg.NATSURL, bcfg.DataDir, bcfg.HTTPAddr = "node-b", a.NATSURL(), t.TempDir(), "127.0.0.1:0"
	bcfg.MediaIP, bcfg.RTPPortMin, bcfg.RTPPortMax, bcfg.MediaTimeout = "127.0.0.1", 46400, 46599, 2*time.Second
	b, err := app.New(ctx, bcfg, app.Mode{Roles: []string{events.RoleMedia}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bDone := make(chan error, 1)
	go func() { bDone <- b.Run(ctx) }()
	var callID string
	natstest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		owned := b.Node().Owned(events.RoleMedia)
		if len(owned) == 0 || !b.Ready() {
			return errString("node-b owns nothing yet")
		}
		for i := 0; ; i++ {
			id := fmt.Sprintf("takeover-%d@e2e", i)
			if slices.Contains(owned, events.Partition(id, 64)) {
				callID = id
				return nil
			}
		}
	})
	host, port := splitHostPort(t, a.SIPAddr())
	inv := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "echo", Host: host, Port: port})
	cid := sip.CallIDHeader(callID)
	inv.AppendHeader(&cid)
	inv.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "uac", Host: "127.0.0.1", Port: 5999}})
	inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	inv.SetBody([]byte(pcmuOffer))
	res, err := cli.Do(t.Context(), inv)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("INVITE: %v %v", err, res)
	}
	u.ack(inv, res, "")
	if ans := ce.wait(t, typeAnswered, callID, 1, 5*time.Second)[0]; ans.Node != "node-b" {
		t.Fatalf("call answered by %s, want node-b", ans.Node)
	}

	cancel() // node-b stops; its partitions (and the call's record) go to node A
	if err := <-bDone; err != nil {
		t.Fatal(err)
	}
	cc := ce.wait(t, typeCompleted, callID, 1, 15*time.Second)[0]
	if d := cc.Data.(*events.CallCompleted); cc.Node == "node-b" || d.Status != events.StatusCompleted || d.HangupBy != events.ByPlatform {
		t.Errorf("completed by %s: %+v", cc.Node, d)
	}
	select {
	case <-byes:
	case <-time.After(5 * time.Second):
		t.Fatal("the caller got no BYE from the new owner")
	}
}

// TestDialOwnAddressLoops: a dial of the platform's own SIP address sends
// an INVITE that comes back to the same platform with the same Call-ID
// (a hairpin); one Call-ID cannot be both legs, so the loop is refused
// with 482 Loop Detected (RFC 3261 §8.2.2.2) and the dial ends at once
// with that code instead of hanging until Timer B.
func TestDialOwnAddressLoops(t *testing.T) {
	a := sipApp(t, 46600)
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	d := cmdReq[events.DialReply](t, nc, "dial", map[string]any{"to": "sip:echo@" + a.SIPAddr()})
	if d.Code != 202 {
		t.Fatalf("dial: %+v", d)
	}
	c := ce.wait(t, typeCompleted, d.CallID, 1, 5*time.Second)[0].Data.(*events.CallCompleted)
	t.Logf("dial of our own address: %+v", c)
	if c.SIPCode != 482 || c.Status != events.StatusFailed {
		t.Errorf("completed %+v, want failed with 482", c)
	}
	if n := len(ce.of(typeIncoming, "")); n != 0 {
		t.Errorf("%d call.incoming for the looped INVITE", n)
	}
}
