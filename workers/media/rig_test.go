package media

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/edge"
	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/natstest"
	"github.com/switchboard-voip/switchboard/test/peers"
	"github.com/switchboard-voip/switchboard/workers"
	"github.com/switchboard-voip/switchboard/workers/conference/frame"
	"github.com/switchboard-voip/switchboard/workers/ring"
)

// The conference tests run the media role as `switchboard up` does (the
// node runtime on an embedded NATS server, a SIP edge on loopback), with
// sipp as the phone; the test itself plays the conference role and the
// mixer over NATS. RTP stays within 48000-48499: the role's ports below
// rigPhonePorts, the phones' above.

const (
	rigPartitions = 4
	rigRTPMin     = 48000
	rigRTPMax     = 48299
	rigPhonePorts = 48300 // to 48499
)

// rig is a SIP edge, one or more nodes with the media role, and the
// test's own connection.
type rig struct {
	t     *testing.T
	first *rigNode
	role  *Role // the first node's
	reg   *prometheus.Registry
	nc    *nats.Conn // the test's: conference role, mixer, commands
	sip   string     // the edge's UDP address
	calls *callLog
	url   string
	// rebalanceDelay is the workers.Config.RebalanceDelay of nodes added
	// from now on.
	rebalanceDelay time.Duration
}

// newRig starts an edge and a node with the media role, and returns once
// the node owns every partition.
func newRig(t *testing.T) *rig {
	t.Helper()
	srv := natstest.Run(t)
	rg := &rig{t: t, nc: natstest.Connect(t, srv), url: srv.ClientURL()}
	rg.calls = watchCallEvents(t, rg.nc)
	e, err := edge.NewSIPEdge(natsConnect(t, rg.url), edge.SIPConfig{
		EdgeID: "e1", Host: "127.0.0.1", Port: 0, Advertise: "127.0.0.1", Partitions: rigPartitions,
	}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	rg.sip = e.UDPAddr().String()
	n := rg.addNode("m1")
	rg.first, rg.role, rg.reg = n, n.role, n.reg
	natstest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if owned := len(n.node.Owned(events.RoleMedia)); !n.node.Ready() || owned != rigPartitions {
			return fmt.Errorf("node owns %d of %d partitions", owned, rigPartitions)
		}
		return nil
	})
	return rg
}

// rigNode is one node of the rig.
type rigNode struct {
	role *Role
	node *workers.Node
	reg  *prometheus.Registry
	stop func() // leaves the cluster (partitions handed over) and closes the role
}

// addNode runs a node with the media role until the test ends or it is
// stopped.
func (rg *rig) addNode(id string) *rigNode {
	t := rg.t
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	nc := natsConnect(t, rg.url)
	ctx := context.Background()
	n := &rigNode{reg: prometheus.NewRegistry()}
	var err error
	n.role, err = New(ctx, nc, Config{
		NodeID: id, Partitions: rigPartitions, MediaIP: netip.MustParseAddr("127.0.0.1"),
		RTPPortMin: rigRTPMin, RTPPortMax: rigRTPMax,
	}, log, n.reg)
	if err != nil {
		t.Fatal(err)
	}
	n.node, err = workers.New(ctx, nc, workers.Config{
		NodeID: id, Roles: []string{events.RoleMedia}, Partitions: rigPartitions,
		VNodes: ring.DefaultVNodes, Probes: ring.DefaultProbes,
		HeartbeatInterval: 250 * time.Millisecond, NodeTimeout: time.Second, DrainTimeout: 5 * time.Second,
		RebalanceDelay: rg.rebalanceDelay, Replicas: 1, EventRetention: time.Hour,
	}, []workers.Role{n.role}, workers.WithLogger(log), workers.WithRegisterer(n.reg))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := n.node.Run(runCtx); err != nil && runCtx.Err() == nil {
			t.Errorf("node %s: %v", id, err)
		}
	}()
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			n.role.Close()
		})
	}
	t.Cleanup(n.stop)
	return n
}

func natsConnect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// attach sends a MemberAttach to the media owner of its call, as the
// conference role does.
func (rg *rig) attach(req events.MemberAttach) events.MemberAttachReply {
	rg.t.Helper()
	return memberAttach(rg.t, rg.nc, req)
}

func memberAttach(t *testing.T, nc *nats.Conn, req events.MemberAttach) events.MemberAttachReply {
	t.Helper()
	b, _ := json.Marshal(req)
	subject := events.PartitionSubject(events.RoleMedia, events.Partition(req.CallID, rigPartitions), events.MediaKindConference)
	m, err := nc.Request(subject, b, 5*time.Second)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Op, req.CallID, err)
	}
	var rep events.MemberAttachReply
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		t.Fatalf("reply %q: %v", m.Data, err)
	}
	return rep
}

// command sends a call command straight to the call's partition.
func (rg *rig) command(verb string, body any) events.Reply {
	rg.t.Helper()
	b, _ := json.Marshal(body)
	var key struct {
		CallID string `json:"call_id"`
	}
	_ = json.Unmarshal(b, &key)
	m, err := rg.nc.Request(events.PartitionCommandSubject(events.RoleMedia, events.Partition(key.CallID, rigPartitions), verb), b, 5*time.Second)
	if err != nil {
		rg.t.Fatalf("%s: %v", verb, err)
	}
	var rep events.Reply
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		rg.t.Fatalf("reply %q: %v", m.Data, err)
	}
	return rep
}

// call hands f the first node's state of a call (nil if it has none),
// under the partition lock.
func (rg *rig) call(callID string, f func(*Call)) { callIn(rg.role, callID, f) }

func callIn(r *Role, callID string, f func(*Call)) {
	pt := r.part(events.Partition(callID, rigPartitions))
	if pt == nil {
		f(nil)
		return
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	f(pt.calls[callID])
}

// frames is sb_media_conference_frames_total{direction, result}.
func (rg *rig) frames(direction, result string) float64 {
	rg.t.Helper()
	return framesOf(rg.t, rg.reg, direction, result)
}

func framesOf(t *testing.T, reg *prometheus.Registry, direction, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "sb_media_conference_frames_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["direction"] == direction && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// ---- call events ----

type callLog struct {
	mu  sync.Mutex
	evs []events.Event
}

func watchCallEvents(t *testing.T, nc *nats.Conn) *callLog {
	t.Helper()
	cl := &callLog{}
	sub, err := nc.Subscribe("sb.evt.call.>", func(m *nats.Msg) {
		e, err := events.Parse(m.Data)
		if err != nil {
			t.Errorf("unparsable event on %s: %v", m.Subject, err)
			return
		}
		cl.mu.Lock()
		cl.evs = append(cl.evs, e)
		cl.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return cl
}

// wait returns the first event of payload type P (of callID, if set) once
// it has arrived.
func waitEvent[P events.Payload](t *testing.T, cl *callLog, callID string, d time.Duration) (events.Event, P) {
	t.Helper()
	var got events.Event
	var data P
	natstest.CheckFor(t, d, 10*time.Millisecond, func() error {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		for _, e := range cl.evs {
			if p, ok := e.Data.(P); ok && (callID == "" || e.CallID == callID) {
				got, data = e, p
				return nil
			}
		}
		var zero P
		return fmt.Errorf("no %T event for call %q", zero, callID)
	})
	return got, data
}

// ---- the mixer's side: frames on the in-subject ----

// heard is one frame received from a member, as the mixer sees it.
type heard struct {
	at  time.Time
	hdr frame.Frame // PCM and Payload cleared
	pcm []int16
}

// inFrames collects the frames a member publishes.
type inFrames struct {
	mu  sync.Mutex
	got []heard
	bad int
	sub *nats.Subscription
}

func listenIn(t *testing.T, nc *nats.Conn, conf, callID string) *inFrames {
	t.Helper()
	in := &inFrames{}
	var f frame.Frame
	f.PCM = make([]int16, 0, 48000*120/1000)
	sub, err := nc.Subscribe(events.ConferenceInSubject(conf, callID), func(m *nats.Msg) {
		in.mu.Lock()
		defer in.mu.Unlock()
		if err := frame.Unmarshal(m.Data, &f); err != nil {
			in.bad++
			return
		}
		h := heard{at: time.Now(), hdr: f, pcm: append([]int16(nil), f.PCM...)}
		h.hdr.PCM, h.hdr.Payload = nil, nil
		in.got = append(in.got, h)
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	in.sub = sub
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return in
}

func (in *inFrames) count() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.got)
}

// since returns the frames received from index i on.
func (in *inFrames) since(i int) []heard {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]heard(nil), in.got[min(i, len(in.got)):]...)
}

// waitFor polls until n frames have arrived.
func (in *inFrames) waitFor(t *testing.T, n int, d time.Duration) {
	t.Helper()
	natstest.CheckFor(t, d, 10*time.Millisecond, func() error {
		if c := in.count(); c < n {
			return fmt.Errorf("%d of %d frames", c, n)
		}
		return nil
	})
}

// pcmOf concatenates the frames' samples.
func pcmOf(hs []heard) []int16 {
	var out []int16
	for _, h := range hs {
		out = append(out, h.pcm...)
	}
	return out
}

// ---- sipp, the phone ----

// phoneOpts describe a sipp phone's call.
type phoneOpts struct {
	user  string // dialed: echo, conf-<room>, ...
	codec string // PCMU (default) or opus
	// tone streams a looping 1 kHz µ-law tone at -9 dBFS (rtp_stream);
	// otherwise the phone echoes every RTP packet it receives (-rtp_echo).
	tone bool
	// byeAfter: the phone hangs up this long after the ACK; zero: it waits
	// for the platform's BYE (up to 60 s).
	byeAfter time.Duration
	// reinvite: the phone first answers this many re-INVITEs (a media
	// move, hold, unhold).
	reinvite int
	// expect is a final failure response the phone expects instead of 200.
	expect int
	// refuse491: the phone answers this many re-INVITEs with 491 Request
	// Pending (RFC 3261 §14.2) before it answers the next reinvite ones.
	refuse491 int
}

// phone is a running sipp.
type phone struct {
	cmd  *exec.Cmd
	out  strings.Builder
	done chan struct{}
	port int // media port
}

// startPhone runs sipp calling the rig's edge.
func (rg *rig) startPhone(o phoneOpts) *phone {
	t := rg.t
	t.Helper()
	peers.NeedTools(t, "sipp", "sox")
	dir := t.TempDir()
	if o.codec == "" {
		o.codec = "PCMU"
	}
	if o.tone {
		sox := exec.Command("sox", "-n", "-r", "8000", "-c", "1", "-t", "ul", filepath.Join(dir, "tone.ulaw"), "synth", "10", "sine", "1000", "vol", "0.5")
		if out, err := sox.CombinedOutput(); err != nil {
			t.Fatalf("sox: %v\n%s", err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "phone.xml"), []byte(scenario(o)), 0o644); err != nil {
		t.Fatal(err)
	}
	ph := &phone{done: make(chan struct{}), port: phonePort(t)}
	args := []string{rg.sip, "-sf", "phone.xml", "-s", o.user, "-m", "1", "-i", "127.0.0.1", "-p", strconv.Itoa(freeSIPPort(t)),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(ph.port), "-nostdin", "-timeout", "90", "-timeout_error"}
	if !o.tone {
		args = append(args, "-rtp_echo")
	}
	if o.byeAfter > 0 {
		args = append(args, "-d", strconv.Itoa(int(o.byeAfter.Milliseconds())))
	}
	ph.cmd = exec.Command("sipp", args...)
	ph.cmd.Dir = dir
	ph.cmd.Stdout, ph.cmd.Stderr = &ph.out, &ph.out
	if err := ph.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = ph.cmd.Wait(); close(ph.done) }()
	t.Cleanup(func() {
		select {
		case <-ph.done:
		default:
			_ = ph.cmd.Process.Kill()
			<-ph.done
		}
	})
	return ph
}

// wait waits for sipp to end and returns its exit code and output.
func (ph *phone) wait(t *testing.T, d time.Duration) (int, string) {
	t.Helper()
	select {
	case <-ph.done:
	case <-time.After(d):
		_ = ph.cmd.Process.Kill()
		<-ph.done
		return -1, "killed after " + d.String() + ":\n" + ph.out.String()
	}
	return ph.cmd.ProcessState.ExitCode(), ph.out.String()
}

// phonePort finds eight free ports among the phones': sipp's media port,
// the one its echo binds two above, and the ones its rtp_stream picks
// (auto_media_port) above those.
func phonePort(t *testing.T) int {
	t.Helper()
	for p := rigPhonePorts + 8*int(time.Now().UnixNano()%22); ; p += 8 {
		if p+7 > 48499 {
			p = rigPhonePorts
		}
		var conns []*net.UDPConn
		ok := true
		for i := range 8 {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p + i})
			if err != nil {
				ok = false
				break
			}
			conns = append(conns, c)
		}
		for _, c := range conns {
			c.Close()
		}
		if ok {
			return p
		}
	}
}

func freeSIPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// scenario writes the phone's sipp scenario.
func scenario(o phoneOpts) string {
	port := "[media_port]"
	if o.tone {
		port = "[auto_media_port]"
	}
	sdp := `v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio ` + port + ` RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=ptime:20
      a=sendrecv`
	if strings.EqualFold(o.codec, "opus") {
		sdp = strings.NewReplacer("RTP/AVP 0 101", "RTP/AVP 111 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:111 opus/48000/2\n      a=fmtp:111 useinbandfec=1").Replace(sdp)
	}
	headers := func(method, cseq string, tag bool) string {
		to := "To: [service] <sip:[service]@[remote_ip]:[remote_port]>"
		if tag {
			to += "[peer_tag_param]"
		}
		return method + ` sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      ` + to + `
      Call-ID: [call_id]
      CSeq: ` + cseq + `
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
`
	}
	// ok answers the request received last.
	ok := func(rest string) string {
		return `  <send><![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      ` + rest + `

    ]]></send>
`
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="conference phone">
  <send retrans="500"><![CDATA[

      ` + headers("INVITE", "1 INVITE", false) + `      Content-Type: application/sdp
      Content-Length: [len]

      ` + sdp + `

    ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
`)
	if o.expect != 0 {
		b.WriteString(`  <recv response="` + strconv.Itoa(o.expect) + `"/>
  <send><![CDATA[

      ` + headers("ACK", "1 ACK", true) + `      Content-Length: 0

    ]]></send>
</scenario>
`)
		return b.String()
	}
	b.WriteString(`  <recv response="200" rtd="true"/>
  <send><![CDATA[

      ` + headers("ACK", "1 ACK", true) + `      Content-Length: 0

    ]]></send>
`)
	if o.tone {
		b.WriteString(`  <nop><action><exec rtp_stream="tone.ulaw,-1,0"/></action></nop>
`)
	}
	for range o.refuse491 {
		b.WriteString(`  <recv request="INVITE" timeout="30000"/>
  <send><![CDATA[

      SIP/2.0 491 Request Pending
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]></send>
  <recv request="ACK"/>
`)
	}
	for i := range o.reinvite {
		b.WriteString(`  <recv request="INVITE" timeout="30000"/>
` + ok(`Contact: sip:sipp@[local_ip]:[local_port]
      Content-Type: application/sdp
      Content-Length: [len]

      `+strings.Replace(sdp, "2353687637", strconv.Itoa(2353687638+i), 1)) + `  <recv request="ACK"/>
`)
	}
	if o.byeAfter > 0 {
		b.WriteString(`  <pause/>
  <send retrans="500"><![CDATA[

      ` + headers("BYE", "2 BYE", true) + `      Content-Length: 0

    ]]></send>
  <recv response="200" crlf="true"/>
</scenario>
`)
		return b.String()
	}
	b.WriteString(`  <recv request="BYE" timeout="60000"/>
` + ok("Content-Length: 0") + `</scenario>
`)
	return b.String()
}
