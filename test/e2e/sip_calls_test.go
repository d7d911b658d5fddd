package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/audio"
)

// sippBG runs sipp in the background (a UAS usually) until the test ends or
// it exits by itself.
func sippBG(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, "sipp", append(args, "-nostdin", "-timeout", "60")...)
	cmd.Dir = dir
	p := &proc{cmd: cmd, out: &syncBuf{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); cancel(); close(p.done) }()
	t.Cleanup(func() {
		cancel()
		<-p.done
		if t.Failed() {
			t.Logf("sipp %v:\n%s", args, p.out.String())
		}
	})
	return p
}

func cmdReq[T any](t *testing.T, nc *nats.Conn, verb string, body any) T {
	t.Helper()
	b, _ := json.Marshal(body)
	m, err := nc.Request("sb.cmd."+verb, b, 5*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", verb, err)
	}
	var out T
	if err := json.Unmarshal(m.Data, &out); err != nil {
		t.Fatalf("%s reply %q: %v", verb, m.Data, err)
	}
	return out
}

// TestDialBridgeHangup: sipp A calls in and rings; the app answers it with
// a command, dials sipp B (which echoes RTP) with bridge_to A, and the tone A
// sends travels A -> platform -> B -> platform -> A. Hanging up B by command
// ends A too (hangup_by peer).
func TestDialBridgeHangup(t *testing.T) {
	t.Run("answer-then-dial", func(t *testing.T) { dialBridgeHangup(t, 40200, true) })
	// Ring-through: dial with bridge_to a ringing caller; the caller is
	// answered when the callee answers.
	t.Run("ring-through", func(t *testing.T) { dialBridgeHangup(t, 43000, false) })
}

func dialBridgeHangup(t *testing.T, rtpBase int, answerFirst bool) {
	needTools(t, "sipp", "sox", "tshark")
	a := sipApp(t, rtpBase)
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	dir := sippDir(t, 10, 700)

	uasPort := freeUDPPort(t)
	uas := sippBG(t, dir, "-sn", "uas", "-rtp_echo", "-i", "127.0.0.1", "-p", itoa(uasPort), "-mi", "127.0.0.1", "-mp", itoa(freeUDPPort(t)), "-m", "1")
	uac := sippBG(t, dir, a.SIPAddr(), "-sf", "uac_wait_bye.xml", "-s", "alice", "-m", "1", "-i", "127.0.0.1", "-p", itoa(freeUDPPort(t)), "-mi", "127.0.0.1")

	inc := ce.wait(t, typeIncoming, "", 1, 10*time.Second)[0]
	caller := inc.CallID
	if inc.Data.(*events.CallIncoming).Route != "app" {
		t.Fatalf("route %+v", inc.Data)
	}
	ce.wait(t, typeRinging, caller, 1, 5*time.Second)
	if answerFirst {
		if r := cmdReq[events.Reply](t, nc, "answer", map[string]any{"call_id": caller}); r.Code != 200 {
			t.Fatalf("answer: %+v", r)
		}
		ce.wait(t, typeAnswered, caller, 1, 5*time.Second)
	}

	d := cmdReq[events.DialReply](t, nc, "dial", map[string]any{
		"to": fmt.Sprintf("sip:uas@127.0.0.1:%d", uasPort), "bridge_to": caller, "timeout": 10, "idempotency_key": "dial-1",
	})
	if d.Code != 202 || d.CallID == "" {
		t.Fatalf("dial: %+v", d)
	}
	if events.Partition(d.CallID, 64) != events.Partition(caller, 64) {
		t.Errorf("dialed leg %q is in partition %d, caller in %d", d.CallID, events.Partition(d.CallID, 64), events.Partition(caller, 64))
	}
	if again := cmdReq[events.DialReply](t, nc, "dial", map[string]any{
		"to": fmt.Sprintf("sip:uas@127.0.0.1:%d", uasPort), "bridge_to": caller, "timeout": 10, "idempotency_key": "dial-1",
	}); again.CallID != d.CallID {
		t.Errorf("retried dial with the same idempotency key made another call: %+v", again)
	}
	ce.wait(t, typeAnswered, d.CallID, 1, 10*time.Second)
	callerAns := ce.wait(t, typeAnswered, caller, 1, 5*time.Second)[0].Data.(*events.CallAnswered)
	ce.wait(t, typeBridged, caller, 1, 5*time.Second)

	// Audio the platform sends to A (from A's leg): it went through B.
	port := callerAns.LocalRTP[len("127.0.0.1:"):]
	toA := startCapture(t, "udp and src port "+port, 10*time.Second)
	time.Sleep(2500 * time.Millisecond) // let audio flow; the capture is what is measured
	pkts := rtpOnly(toA.packets())
	f, level := audio.PeakFrequency(rtpAudio(pkts, 0), 8000, 10)
	t.Logf("A received %d packets through the bridge: peak %.0f Hz at %.1f dBFS", len(pkts), f, level)
	if len(pkts) < 100 || math.Abs(f-700) > 15 || level < -15 {
		t.Errorf("A got %d packets peaking at %.0f Hz (%.1f dBFS); want its 700 Hz tone back through B", len(pkts), f, level)
	}

	if r := cmdReq[events.Reply](t, nc, "hangup", map[string]any{"call_id": d.CallID}); r.Code != 200 {
		t.Fatalf("hangup: %+v", r)
	}
	bDone := ce.wait(t, typeCompleted, d.CallID, 1, 5*time.Second)[0].Data.(*events.CallCompleted)
	aDone := ce.wait(t, typeCompleted, caller, 1, 5*time.Second)[0].Data.(*events.CallCompleted)
	if bDone.Status != "completed" || bDone.HangupBy != "app" || aDone.Status != "completed" || aDone.HangupBy != "peer" {
		t.Errorf("completed: dialed %+v, caller %+v", bDone, aDone)
	}
	if code := uac.wait(t, 10*time.Second); code != 0 {
		t.Errorf("caller sipp exit %d", code)
	}
	if code := uas.wait(t, 10*time.Second); code != 0 {
		t.Errorf("callee sipp exit %d", code)
	}
}

// TestCallerCancelsWhileRinging: CANCEL after 180 gets 200 and 487, and the
// call completes as canceled by the remote.
func TestCallerCancelsWhileRinging(t *testing.T) {
	needTools(t, "sipp", "sox")
	a := sipApp(t, 40400)
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	dir := sippDir(t, 1, 440)
	code, out := sipp(t, dir, 20*time.Second, a.SIPAddr(), "-sf", "uac_cancel.xml", "-s", "bob", "-m", "1", "-i", "127.0.0.1", "-p", itoa(freeUDPPort(t)), "-mi", "127.0.0.1")
	if code != 0 {
		t.Fatalf("sipp exit %d:\n%s", code, out)
	}
	cc := ce.wait(t, typeCompleted, "", 1, 5*time.Second)[0].Data.(*events.CallCompleted)
	if cc.Status != events.StatusCanceled || cc.HangupBy != events.ByRemote || cc.SIPCode != 487 {
		t.Errorf("completed: %+v", cc)
	}
}

// TestDialBusy: the callee answers 486; the call completes busy.
func TestDialBusy(t *testing.T) {
	needTools(t, "sipp", "sox")
	a := sipApp(t, 40600)
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	dir := sippDir(t, 1, 440)
	port := freeUDPPort(t)
	uas := sippBG(t, dir, "-sf", "uas_busy.xml", "-i", "127.0.0.1", "-p", itoa(port), "-m", "1")
	d := cmdReq[events.DialReply](t, nc, "dial", map[string]any{"to": "sip:busy@127.0.0.1:" + strconv.Itoa(port)})
	if d.Code != 202 {
		t.Fatalf("dial: %+v", d)
	}
	cc := ce.wait(t, typeCompleted, d.CallID, 1, 10*time.Second)[0].Data.(*events.CallCompleted)
	if cc.Status != events.StatusBusy || cc.SIPCode != 486 || cc.HangupBy != events.ByRemote || cc.Direction != "outbound" {
		t.Errorf("completed: %+v", cc)
	}
	if code := uas.wait(t, 10*time.Second); code != 0 {
		t.Errorf("uas exit %d", code)
	}
}

// TestHoldDoesNotHangUp: the caller holds (sendonly) and unholds; we answer
// recvonly then sendrecv, publish held true/false, and the call stays up
// until the caller's BYE.
func TestHoldDoesNotHangUp(t *testing.T) {
	needTools(t, "sipp", "sox")
	a := sipApp(t, 40800)
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	dir := sippDir(t, 6, 440)
	code, out := sipp(t, dir, 30*time.Second, a.SIPAddr(), "-sf", "uac_hold.xml", "-s", "echo", "-m", "1", "-i", "127.0.0.1", "-p", itoa(freeUDPPort(t)), "-mi", "127.0.0.1")
	if code != 0 {
		t.Fatalf("sipp exit %d:\n%s", code, out)
	}
	cc := ce.wait(t, typeCompleted, "", 1, 5*time.Second)[0]
	held := ce.of(typeHeld, cc.CallID)
	if len(held) != 2 || !held[0].Data.(*events.CallHeld).Held || held[1].Data.(*events.CallHeld).Held {
		t.Errorf("held events: %+v", held)
	}
	if c := cc.Data.(*events.CallCompleted); c.Status != "completed" || c.HangupBy != "remote" {
		t.Errorf("completed: %+v", c)
	}
}
