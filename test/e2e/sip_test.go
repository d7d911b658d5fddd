package e2e

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/cmd/app"
	"github.com/switchboard-voip/switchboard/cmd/config"
	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/audio"
	"github.com/switchboard-voip/switchboard/test/leak"
	"github.com/switchboard-voip/switchboard/test/natstest"
)

// callEvents collects every call event published while a test runs.
type callEvents struct {
	mu  sync.Mutex
	evs []events.Event
}

func watchCalls(t *testing.T, nc *nats.Conn) *callEvents {
	t.Helper()
	return watchEvents(t, nc, "sb.evt.call.>")
}

// watchEvents collects the events published on subject (a wildcard).
func watchEvents(t *testing.T, nc *nats.Conn, subject string) *callEvents {
	t.Helper()
	ce := &callEvents{}
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
		e, err := events.Parse(m.Data)
		if err != nil {
			t.Errorf("unparsable event on %s: %v", m.Subject, err)
			return
		}
		ce.mu.Lock()
		ce.evs = append(ce.evs, e)
		ce.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return ce
}

// of returns the events of one type (optionally of one call), in order.
func (ce *callEvents) of(typ, callID string) []events.Event {
	ce.mu.Lock()
	defer ce.mu.Unlock()
	var out []events.Event
	for _, e := range ce.evs {
		if e.Type == typ && (callID == "" || e.CallID == callID) {
			out = append(out, e)
		}
	}
	return out
}

// wait polls until n events of typ (for callID, if set) have arrived.
func (ce *callEvents) wait(t *testing.T, typ, callID string, n int, d time.Duration) []events.Event {
	t.Helper()
	var got []events.Event
	natstest.CheckFor(t, d, 20*time.Millisecond, func() error {
		if got = ce.of(typ, callID); len(got) < n {
			return fmt.Errorf("%d of %d %s events", len(got), n, typ)
		}
		return nil
	})
	return got
}

const (
	typeIncoming  = "io.switchboard.call.v1.incoming"
	typeRinging   = "io.switchboard.call.v1.ringing"
	typeAnswered  = "io.switchboard.call.v1.answered"
	typeBridged   = "io.switchboard.call.v1.bridged"
	typeHeld      = "io.switchboard.call.v1.held"
	typeCompleted = "io.switchboard.call.v1.completed"
	typeStats     = "io.switchboard.call.v1.media_stats"
)

// sipApp runs `up` in-process with SIP on a random loopback port and RTP in
// a range of its own.
func sipApp(t *testing.T, rtpBase int, mutate ...func(*config.Config)) *app.App {
	t.Helper()
	return runApp(t, app.Mode{Edge: true, Roles: events.AllRoles}, func(c *config.Config) {
		c.SIPHost, c.SIPPort, c.MediaIP = "127.0.0.1", 0, "127.0.0.1"
		c.RTPPortMin, c.RTPPortMax = rtpBase, rtpBase+199
		for _, m := range mutate {
			m(c)
		}
	})
}

// TestSippEchoCall: sipp calls the echo route; the call connects, the
// 1 kHz tone sipp sends comes back (packets counted, frequency and level
// measured), sipp's BYE ends it, and call.completed says so.
func TestSippEchoCall(t *testing.T) {
	leak.Check(t)
	needTools(t, "sipp", "sox", "tshark")
	a := sipApp(t, 40000)
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	dir := sippDir(t, 3, 1000)

	// What the platform sends from its RTP ports, and what sipp sends to them.
	echoed := startCapture(t, "udp and src portrange 40000-40199", 20*time.Second)
	sent := startCapture(t, "udp and dst portrange 40000-40199", 20*time.Second)
	code, out := sipp(t, dir, 30*time.Second, a.SIPAddr(), "-sf", "uac_echo.xml", "-s", "echo", "-m", "1",
		"-i", "127.0.0.1", "-p", itoa(freeUDPPort(t)), "-mi", "127.0.0.1")
	if code != 0 {
		t.Fatalf("sipp exit %d:\n%s", code, out)
	}
	done := ce.wait(t, typeCompleted, "", 1, 5*time.Second)[0]
	cc := done.Data.(*events.CallCompleted)
	if cc.Status != events.StatusCompleted || cc.HangupBy != events.ByRemote || cc.SIPCode != 200 || cc.Duration < 3 {
		t.Errorf("call.completed: %+v", cc)
	}
	inc := ce.of(typeIncoming, done.CallID)
	if len(inc) != 1 || inc[0].Data.(*events.CallIncoming).Route != "echo" {
		t.Errorf("call.incoming: %+v", inc)
	}
	if ans := ce.of(typeAnswered, done.CallID); len(ans) != 1 || ans[0].Data.(*events.CallAnswered).Codec != "PCMU/8000" {
		t.Errorf("call.answered: %+v", ans)
	}

	stats := ce.wait(t, typeStats, done.CallID, 1, 2*time.Second)
	if st := stats[len(stats)-1].Data.(*events.CallMediaStats); !st.Final || st.PacketsReceived < 140 || st.PacketsSent < 140 || st.PacketsLost != 0 {
		t.Errorf("final media stats: %+v", st)
	}
	in, back := rtpOnly(sent.packets()), rtpOnly(echoed.packets())
	t.Logf("sipp sent %d RTP packets, the platform echoed %d", len(in), len(back))
	if len(in) < 140 || float64(len(back)) < 0.95*float64(len(in)) || len(back) > len(in) {
		t.Fatalf("sent %d, echoed %d: want every packet back", len(in), len(back))
	}
	f, level := audio.PeakFrequency(rtpAudio(back, 0), 8000, 10)
	t.Logf("echoed audio: peak %.0f Hz at %.1f dBFS", f, level)
	if math.Abs(f-1000) > 20 || level < -12 || level > -3 {
		t.Errorf("echoed audio peaks at %.0f Hz, %.1f dBFS; want the 1 kHz tone at about -6 dBFS", f, level)
	}
}

// rtpOnly keeps RTP (version 2, payload type below 72: not RTCP).
func rtpOnly(pkts []udpPacket) []udpPacket {
	var out []udpPacket
	for _, p := range pkts {
		if len(p.payload) >= 12 && p.payload[0]>>6 == 2 && (p.payload[1]&0x7f < 72 || p.payload[1]&0x7f > 76) {
			out = append(out, p)
		}
	}
	return out
}
