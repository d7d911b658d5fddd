package conference

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/schemas"
	"github.com/switchboard-voip/switchboard/test/natstest"
	"github.com/switchboard-voip/switchboard/workers/conference/frame"
	"github.com/switchboard-voip/switchboard/workers/media/codec"
)

// partitions is P in these tests.
const partitions = 8

// harness runs conference roles on an in-process NATS server and plays,
// over NATS, the parts around them: the runtime's dispatch of a
// partition's subjects to its owner, the media workers' side of
// MemberAttach, and phones that publish PCM frames on the in-subjects and
// decode what the mixer sends on the out-subjects.
type harness struct {
	t   testing.TB
	srv *server.Server
	nc  *nats.Conn // the test's connection: commands, media, phones

	owner [partitions]atomic.Pointer[Role]

	mu     sync.Mutex
	evs    []events.Event
	phones []*phone
	media  []events.MemberAttach
	// answer replies to a MemberAttach instead of the default (200, the
	// phone's codec); nil reply: no answer at all.
	answer   func(events.MemberAttach) *events.MemberAttachReply
	mediaSub *nats.Subscription

	stop chan struct{}
	wg   sync.WaitGroup // the phones' clock
}

// role makes a conference role on its own connection, owning nothing.
func (h *harness) role(node string, cfg Config) (*Role, *prometheus.Registry) {
	h.t.Helper()
	cfg.NodeID, cfg.Partitions = node, partitions
	reg := prometheus.NewRegistry()
	r, err := New(context.Background(), natstest.Connect(h.t, h.srv), cfg, nil, reg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(r.Close)
	return r, reg
}

// newHarness starts the server, the dispatcher, the media side and the
// phones' clock, and one role owning every partition.
func newHarness(t testing.TB, cfg Config) (*harness, *Role, *prometheus.Registry) {
	h := &harness{t: t, srv: natstest.Run(t), stop: make(chan struct{})}
	h.nc = natstest.Connect(t, h.srv)
	r, reg := h.role("n1", cfg)
	for p := range partitions {
		h.own(r, p)
	}
	prefix := "sb." + events.RoleConference + ".p."
	disp, err := h.nc.Subscribe(prefix+">", func(m *nats.Msg) {
		ps, kind, _ := strings.Cut(strings.TrimPrefix(m.Subject, prefix), ".")
		p, _ := strconv.Atoi(ps)
		o := h.owner[p].Load()
		if o == nil {
			return
		}
		if verb, ok := strings.CutPrefix(kind, "cmd."); ok {
			if !o.HandleCommand(p, verb, m) {
				_ = m.Respond([]byte(`{"code":501,"reason":"not implemented"}`))
			}
			return
		}
		o.HandleMessage(p, kind, m)
	})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := h.nc.Subscribe("sb.evt.conf.>", func(m *nats.Msg) {
		e, err := events.Parse(m.Data)
		if err != nil {
			t.Errorf("bad event: %v", err)
			return
		}
		if err := schemas.ValidateEvent(e.Type, m.Data); err != nil {
			t.Errorf("event does not match its schema: %v\n%s", err, m.Data)
		}
		h.mu.Lock()
		h.evs = append(h.evs, e)
		h.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	h.startMedia()
	_ = h.nc.Flush()
	h.wg.Go(h.clock)
	t.Cleanup(func() {
		close(h.stop)
		h.wg.Wait()
		_ = disp.Unsubscribe()
		_ = evs.Unsubscribe()
		h.mu.Lock()
		for _, ph := range h.phones {
			_ = ph.sub.Unsubscribe()
		}
		h.mu.Unlock()
		for p := range partitions {
			if o := h.owner[p].Load(); o != nil {
				_ = o.Release(context.Background(), p, false)
			}
		}
	})
	return h, r, reg
}

// own makes r the owner of p, as the runtime does.
func (h *harness) own(r *Role, p int) {
	h.t.Helper()
	if err := r.TakeOver(context.Background(), p, false); err != nil {
		h.t.Fatal(err)
	}
	h.owner[p].Store(r)
}

// startMedia answers MemberAttach requests as the calls' media workers.
func (h *harness) startMedia() {
	sub, err := h.nc.Subscribe("sb.p.*."+events.MediaKindConference, func(m *nats.Msg) {
		var a events.MemberAttach
		if err := json.Unmarshal(m.Data, &a); err != nil {
			h.t.Errorf("bad MemberAttach: %v", err)
			return
		}
		if want := events.PartitionSubject(events.RoleMedia, events.Partition(a.CallID, partitions), events.MediaKindConference); m.Subject != want {
			h.t.Errorf("MemberAttach for %s on %s, want %s", a.CallID, m.Subject, want)
		}
		h.mu.Lock()
		h.media = append(h.media, a)
		answer := h.answer
		h.mu.Unlock()
		rep := &events.MemberAttachReply{Reply: events.Reply{Code: 200, Reason: "OK"}}
		if a.Op == events.AttachOp {
			rep.Codec = "PCMU/8000"
			if ph := h.phone(a.CallID); ph != nil {
				rep.Codec = ph.codecName
			}
		}
		if answer != nil {
			if rep = answer(a); rep == nil {
				return
			}
		}
		if a.Op == events.AttachOp && rep.Code == 200 && (a.Rate == 16000 || a.Rate == 48000) {
			// A media worker starts publishing as it answers: this frame
			// reaches the mixer before the reply does.
			f := frame.Frame{Codec: frame.PCM, Level: -127, Rate: a.Rate, Samples: a.Rate / 50, PCM: make([]int16, a.Rate/50)}
			b, _ := f.MarshalBinary()
			_ = h.nc.Publish(events.ConferenceInSubject(a.Conference, a.CallID), b)
		}
		if m.Reply != "" {
			b, _ := json.Marshal(rep)
			_ = m.Respond(b)
		}
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.mediaSub = sub
}

// mediaRequests returns the MemberAttach requests seen, of op.
func (h *harness) mediaRequests(op string) []events.MemberAttach {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []events.MemberAttach
	for _, a := range h.media {
		if a.Op == op {
			out = append(out, a)
		}
	}
	return out
}

// cmd sends a command to the owner of its partition and returns the raw
// reply.
func (h *harness) cmd(verb string, body any) []byte {
	h.t.Helper()
	b, _ := json.Marshal(body)
	var conf struct {
		Conference string `json:"conference"`
	}
	_ = json.Unmarshal(b, &conf)
	p := events.Partition(conf.Conference, partitions)
	m, err := h.nc.Request(events.PartitionCommandSubject(events.RoleConference, p, verb), b, 10*time.Second)
	if err != nil {
		h.t.Fatalf("%s: %v", verb, err)
	}
	if err := schemas.ValidateReply(verb, m.Data); err != nil {
		h.t.Errorf("%s reply does not match its schema: %v\n%s", verb, err, m.Data)
	}
	return m.Data
}

// do sends a command and returns its reply's code and reason.
func (h *harness) do(verb string, body any) (int, string) {
	h.t.Helper()
	var r events.Reply
	if err := json.Unmarshal(h.cmd(verb, body), &r); err != nil {
		h.t.Fatal(err)
	}
	return r.Code, r.Reason
}

// must sends a command that must succeed.
func (h *harness) must(verb string, body any) {
	h.t.Helper()
	if code, reason := h.do(verb, body); code != 200 {
		h.t.Fatalf("%s %v: %d %s", verb, body, code, reason)
	}
}

func (h *harness) list(conf string) events.ConferenceListReply {
	h.t.Helper()
	var r events.ConferenceListReply
	if err := json.Unmarshal(h.cmd("conference_list", map[string]string{"conference": conf}), &r); err != nil {
		h.t.Fatal(err)
	}
	return r
}

func memberOf(conf, call string) map[string]any {
	return map[string]any{"conference": conf, "call_id": call}
}

// events returns the events seen of a type (the name after v1.), for a
// call ("" for any).
func (h *harness) events(name, call string) []events.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []events.Event
	for _, e := range h.evs {
		if e.Type == "io.switchboard.conference.v1."+name && (call == "" || e.CallID == call) {
			out = append(out, e)
		}
	}
	return out
}

// waitEvents waits until n events of a type were seen.
func (h *harness) waitEvents(name, call string, n int) []events.Event {
	h.t.Helper()
	var got []events.Event
	natstest.CheckFor(h.t, 5*time.Second, 5*time.Millisecond, func() error {
		if got = h.events(name, call); len(got) < n {
			return fmt.Errorf("%d of %d %s events", len(got), n, name)
		}
		return nil
	})
	return got
}

// phone is a member's media worker as the mixer sees it: it sends a sine
// (or silence) as 20 ms PCM frames at the room's rate, and decodes what it
// receives.
type phone struct {
	h         *harness
	conf      string
	call      string
	codecName string
	rate      int // the room's

	mu       sync.Mutex
	tone     float64 // Hz; 0: silence
	toneOff  bool    // the last frame sent was silent
	amp      float64
	sending  bool
	sent     int
	seq      uint32
	dec      codec.Decoder
	decRate  int
	got      []int16 // decoded
	frames   int
	disc     int // frames with Discontinuity
	lastSeq  uint32
	lastTS   uint64
	badOrder int         // frames whose seq or timestamp did not follow
	onsets   []time.Time // when the phone's tone was switched on (its first tone frame published)
	loud     []time.Time // when out-frames with a level above -40 dBFS arrived
	sub      *nats.Subscription
}

// amplitude of a sine whose ToneLevel is dbfs.
func amplitude(dbfs float64) float64 { return 32768 * math.Sqrt2 * math.Pow(10, dbfs/20) }

// newPhone subscribes to the member's out-subject (before it joins, so
// that its first frame is seen).
func (h *harness) newPhone(conf, call, codecName string, rate int, tone float64) *phone {
	h.t.Helper()
	ph := &phone{h: h, conf: conf, call: call, codecName: codecName, rate: rate, tone: tone, amp: amplitude(-17)}
	fc, ok := parseCodec(codecName)
	if !ok {
		h.t.Fatalf("codec %s", codecName)
	}
	var err error
	switch fc {
	case frame.PCMU:
		ph.dec, ph.decRate = codec.NewPCMUDecoder(), 8000
	case frame.PCMA:
		ph.dec, ph.decRate = codec.NewPCMADecoder(), 8000
	case frame.Opus:
		ph.decRate = rate
		ph.dec, err = codec.NewOpusDecoder(rate)
	}
	if err != nil {
		h.t.Fatal(err)
	}
	pcm := make([]int16, codec.MaxPacketSamples(48000))
	var f frame.Frame
	ph.sub, err = h.nc.Subscribe(events.ConferenceOutSubject(conf, call), func(m *nats.Msg) {
		if err := frame.Unmarshal(m.Data, &f); err != nil {
			h.t.Errorf("%s: bad out-frame: %v", call, err)
			return
		}
		ph.mu.Lock()
		defer ph.mu.Unlock()
		if f.Codec != fc || f.Rate != ph.decRate || f.Samples != ph.decRate/50 {
			h.t.Errorf("%s: out-frame %s at %d Hz, %d samples; want %s at %d", call, f.Codec, f.Rate, f.Samples, fc, ph.decRate)
		}
		if f.Flags&frame.Discontinuity != 0 {
			ph.disc++
		} else if ph.frames > 0 && (f.Seq != ph.lastSeq+1 || f.Timestamp != ph.lastTS+uint64(f.Samples)) {
			ph.badOrder++
		}
		ph.lastSeq, ph.lastTS = f.Seq, f.Timestamp
		ph.frames++
		if f.Level > -40 {
			ph.loud = append(ph.loud, time.Now())
		}
		n, err := ph.dec.Decode(f.Payload, pcm)
		if err != nil {
			h.t.Errorf("%s: decode: %v", call, err)
			return
		}
		ph.got = append(ph.got, pcm[:n]...)
	})
	if err != nil {
		h.t.Fatal(err)
	}
	_ = h.nc.Flush()
	h.mu.Lock()
	h.phones = append(h.phones, ph)
	h.mu.Unlock()
	return ph
}

func (h *harness) phone(call string) *phone {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ph := range h.phones {
		if ph.call == call {
			return ph
		}
	}
	return nil
}

// join starts the phone's audio and makes it a member: like a media
// worker, which starts publishing as it answers the attach, it sends
// before the join has completed.
func (ph *phone) join(extra map[string]any) {
	ph.h.t.Helper()
	body := memberOf(ph.conf, ph.call)
	for k, v := range extra {
		body[k] = v
	}
	ph.setSending(true)
	ph.h.must("conference_join", body)
}

func (ph *phone) setSending(on bool) {
	ph.mu.Lock()
	ph.sending = on
	ph.mu.Unlock()
}

// clock sends every sending phone's next frame every 20 ms.
func (h *harness) clock() {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	var buf []byte
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		phones := append([]*phone(nil), h.phones...)
		h.mu.Unlock()
		for _, ph := range phones {
			ph.mu.Lock()
			if !ph.sending {
				ph.mu.Unlock()
				continue
			}
			n := ph.rate / 50
			pcm := make([]int16, n)
			for i := range pcm {
				k := float64(ph.sent*n + i)
				pcm[i] = int16(math.Round(ph.amp * math.Sin(2*math.Pi*ph.tone*k/float64(ph.rate))))
			}
			f := frame.Frame{Codec: frame.PCM, Level: int(math.Max(-127, math.Round(toneDBFS(ph)))), Rate: ph.rate,
				Samples: n, Seq: ph.seq, Timestamp: uint64(ph.sent * n), PCM: pcm}
			if ph.sent == 0 {
				f.Flags |= frame.Discontinuity
			}
			if ph.tone != 0 && ph.toneOff {
				ph.toneOff = false
				ph.onsets = append(ph.onsets, time.Now())
			}
			ph.sent++
			ph.seq++
			ph.mu.Unlock()
			var err error
			if buf, err = f.AppendBinary(buf[:0]); err != nil {
				h.t.Errorf("marshal: %v", err)
				continue
			}
			_ = h.nc.Publish(events.ConferenceInSubject(ph.conf, ph.call), buf)
		}
	}
}

func toneDBFS(ph *phone) float64 {
	if ph.tone == 0 {
		return -127
	}
	return 20 * math.Log10(ph.amp/32768/math.Sqrt2)
}

// frameCount is how many out-frames the phone received.
func (ph *phone) frameCount() int {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return ph.frames
}

// tail returns the last d of decoded audio once at least that much came
// after mark (a frame count), or nil.
func (ph *phone) tail(d time.Duration, mark int) []int16 {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	n := int(int64(ph.decRate) * int64(d) / int64(time.Second))
	if ph.frames-mark < int(d/(20*time.Millisecond)) || len(ph.got) < n {
		return nil
	}
	return append([]int16(nil), ph.got[len(ph.got)-n:]...)
}

// metric is the value of a counter or gauge, with its one label's value
// (or "" for none).
func metric(t testing.TB, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			l := m.GetLabel()
			if label == "" && len(l) == 0 || len(l) == 1 && l[0].GetValue() == label {
				if m.GetGauge() != nil {
					return m.GetGauge().GetValue()
				}
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
