package media

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/media/codec"
	"github.com/switchboard-voip/switchboard/workers/media/g711"
	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

type rtpPacket = rtp.Packet

// Codec kinds the RTP path tells apart.
const (
	kindPCMU = iota
	kindPCMA
	kindOpus
)

// transcodeRate is the internal rate of transcoding: G.711's own, so that
// a G.711<->Opus bridge needs no resampler (libopus codes 8 kHz directly).
const transcodeRate = 8000

// audioFormat is what the RTP path needs to know of a call's codec. It is
// replaced as a whole (never modified) when a re-INVITE changes the codec,
// so the RTP goroutines never see it change under them. dec is used by the
// call's own decoded leg (what it receives); enc and out, under mu, by
// whichever leg sends audio to it (its bridge peer).
type audioFormat struct {
	pt   uint8
	kind int
	rate uint32 // RTP clock rate (RFC 7587 §4.1: 48000 for Opus)
	dec  codec.Decoder

	mu  sync.Mutex
	enc codec.Encoder
	out []byte
}

func newAudioFormat(c sdp.Codec, opusCfg codec.OpusConfig) (*audioFormat, error) {
	f := &audioFormat{pt: c.PT, rate: 8000, out: make([]byte, codec.MaxPayload)}
	var err error
	switch strings.ToUpper(c.Name) {
	case "PCMU":
		f.kind, f.dec, f.enc = kindPCMU, codec.NewPCMUDecoder(), codec.NewPCMUEncoder()
	case "PCMA":
		f.kind, f.dec, f.enc = kindPCMA, codec.NewPCMADecoder(), codec.NewPCMAEncoder()
	case "OPUS":
		f.kind, f.rate = kindOpus, codec.OpusClockRate
		if f.dec, err = codec.NewOpusDecoder(transcodeRate); err != nil {
			return nil, err
		}
		if f.enc, err = codec.NewOpusEncoder(transcodeRate, opusCfg); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("no media path for codec %s", c.Name)
	}
	return f, nil
}

// newDecoder returns a decoder of a codec kind: G.711 to 8 kHz (its only
// rate), Opus to rate (8, 16 or 48 kHz, which libopus decodes to natively).
func newDecoder(kind int, rate int) (codec.Decoder, error) {
	switch kind {
	case kindPCMU:
		return codec.NewPCMUDecoder(), nil
	case kindPCMA:
		return codec.NewPCMADecoder(), nil
	}
	d, err := codec.NewOpusDecoder(rate)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// samples is the RTP timestamp step of a payload of this format: one byte
// a sample for G.711; for Opus, the packet's duration on the 48 kHz clock
// that RFC 7587 §4.1 fixes whatever the codec's internal rate.
func (f *audioFormat) samples(payload []byte) (uint32, bool) {
	if f.kind != kindOpus {
		return uint32(len(payload)), true
	}
	n, err := codec.PacketSamples(payload, codec.OpusClockRate)
	return uint32(n), err == nil
}

// steps converts n samples at transcodeRate to this format's RTP clock.
func (f *audioFormat) steps(n int) uint32 {
	return uint32(n) * (f.rate / transcodeRate)
}

// opusFrames are the frame sizes Opus encodes at transcodeRate (60, 40,
// 20 and 10 ms), largest first: a 30 ms G.711 frame goes out as 20 + 10.
var opusFrames = [...]int{6 * transcodeRate / 100, 4 * transcodeRate / 100, 2 * transcodeRate / 100, transcodeRate / 100}

// send encodes pcm (at transcodeRate) into this format and writes it to s,
// marking the first packet when marker is set; complexity is the Opus
// encoder's, from the CPU governor. It reports whether a packet went out.
func (f *audioFormat) send(s Media, pcm []int16, marker bool, complexity int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.kind != kindOpus {
		n, err := f.enc.Encode(pcm, f.out)
		return err == nil && s.WriteSample(f.out[:n], uint32(n), marker) == nil
	}
	enc := f.enc.(*codec.OpusEncoder)
	if enc.Config().Complexity != complexity {
		_ = enc.SetComplexity(complexity)
	}
	sent := false
	for len(pcm) >= opusFrames[len(opusFrames)-1] {
		size := opusFrames[len(opusFrames)-1]
		for _, z := range opusFrames {
			if z <= len(pcm) {
				size = z
				break
			}
		}
		n, err := enc.Encode(pcm[:size], f.out)
		if err != nil {
			return sent
		}
		if s.WriteSample(f.out[:n], f.steps(size), marker && !sent) == nil {
			sent = true
		}
		pcm = pcm[size:]
	}
	return sent
}

// onAudio runs on the call's RTP goroutine for every packet received. It
// sends the audio wherever the call's member or forward pointer says: a
// conference's mixer, itself (echo) or its bridged peer. The same codec is
// relayed untouched and PCMU<->PCMA by a table lookup per byte, at once;
// G.711<->Opus and conference audio go into the call's jitter buffer, which
// the playout clock decodes (leg.go).
func (c *Call) onAudio(pkt *rtp.Packet) {
	in := c.format.Load()
	if in == nil || pkt.PayloadType != in.pt || len(pkt.Payload) == 0 {
		return // not audio (DTMF arrives with its own issue)
	}
	if m := c.member.Load(); m != nil {
		if !m.held.Load() { // on hold the member's frames just stop
			c.push(pkt, in, m)
		}
		return
	}
	dst := c.forward.Load()
	if dst == nil {
		return // nowhere to go
	}
	s, out := dst.sess.Load(), dst.format.Load()
	if s == nil || out == nil {
		return
	}
	payload := pkt.Payload
	var samples uint32
	switch {
	case in.kind == out.kind:
		var ok bool
		if samples, ok = in.samples(payload); !ok {
			return
		}
	case !decodes(in, out):
		// PCMU<->PCMA: a table lookup per byte, no decode.
		if cap(c.scratch) < len(payload) {
			c.scratch = make([]byte, len(payload))
		}
		buf := c.scratch[:len(payload)]
		if in.kind == kindPCMA {
			g711.AlawToUlaw(buf, payload)
		} else {
			g711.UlawToAlaw(buf, payload)
		}
		payload, samples = buf, uint32(len(buf))
	default:
		c.push(pkt, in, nil)
		return
	}
	_ = s.WriteSample(payload, samples, pkt.Marker)
}

// bridge makes audio flow between two answered calls of one partition.
func (r *Role) bridge(pt *partition, a, b *Call) (int, string) {
	if a == b {
		return events.CodeBadRequest, "a call cannot be bridged to itself"
	}
	if a.State != StateAnswered || b.State != StateAnswered {
		return events.CodeConflict, "both calls must be answered"
	}
	if a.sess.Load() == nil || b.sess.Load() == nil {
		return events.CodeConflict, "a call has no media on this node"
	}
	for _, c := range []*Call{a, b} {
		if c.Peer != "" {
			return events.CodeConflict, "call " + c.ID + " is already bridged to " + c.Peer + "; unbridge it first"
		}
		if c.Conference != "" {
			return events.CodeConflict, "call " + c.ID + " is in conference " + c.Conference
		}
	}
	a.Peer, b.Peer = b.ID, a.ID
	a.BridgeTo, b.BridgeTo = "", ""
	a.forward.Store(b)
	b.forward.Store(a)
	tr := a.local.Name != b.local.Name
	r.publish(pt, a, &events.CallBridged{PeerCallID: b.ID, Transcoding: tr})
	r.publish(pt, b, &events.CallBridged{PeerCallID: a.ID, Transcoding: tr})
	r.save(pt, a)
	r.save(pt, b)
	return events.CodeOK, "bridged"
}

// unbridge separates c from its peer; both stay up, silent.
func (r *Role) unbridge(pt *partition, c *Call) {
	peer := pt.calls[c.Peer]
	c.forward.Store(nil)
	c.Peer = ""
	r.save(pt, c)
	if peer != nil {
		peer.forward.Store(nil)
		r.publish(pt, c, &events.CallUnbridged{PeerCallID: peer.ID})
		r.publish(pt, peer, &events.CallUnbridged{PeerCallID: c.ID})
		peer.Peer = ""
		r.save(pt, peer)
	}
}

// checkCall is the once-a-second look at a call: dead media, stats.
func (r *Role) checkCall(pt *partition, c *Call, now time.Time) {
	if c.ended {
		return
	}
	if c.restored && c.migrating > 0 {
		r.checkMigration(pt, c, now) // no final response yet
		if c.ended {
			return
		}
	}
	if c.restored && c.sess.Load() == nil && now.Sub(c.restoredAt) > r.cfg.MediaTimeout {
		// Taken over before it was answered (ringing, dialing): the
		// transaction died with the old owner. End it properly rather
		// than keep a call nobody can hear forever.
		r.end(pt, c, events.StatusFailed, 503, "owner changed before the call was answered", events.ByPlatform)
		return
	}
	if c.State != StateAnswered {
		return
	}
	s := c.sess.Load()
	if s == nil {
		return
	}
	if !c.HeldRemote && !c.HeldApp {
		last := s.LastActivity()
		if last.IsZero() {
			last = c.Answered
		}
		if now.Sub(last) > r.cfg.MediaTimeout {
			r.log.Info("no media; hanging up", "call_id", c.ID, "silent_for", now.Sub(last).Round(time.Second))
			r.hangupBecause(pt, c, events.ByPlatform, "media timeout")
			return
		}
	}
	if now.Sub(c.lastStats) >= r.cfg.StatsInterval {
		r.publishStats(pt, c, false)
	}
}

func (r *Role) publishStats(pt *partition, c *Call, final bool) {
	s := c.sess.Load()
	if s == nil || c.Answered.IsZero() {
		return
	}
	c.lastStats = time.Now()
	st := s.Stats()
	ev := &events.CallMediaStats{
		Codec: c.Codec, PacketsSent: st.PacketsSent, PacketsReceived: st.PacketsReceived,
		PacketsLost: st.Lost, FractionLost: st.FractionLost,
		JitterMS: float64(st.JitterDuration.Microseconds()) / 1000, RTTMS: float64(st.RTT.Microseconds()) / 1000,
		Final: final,
	}
	if l := c.leg.Load(); l != nil {
		js := l.jb.Stats()
		ev.JitterBufferMS = float64(js.Delay.Microseconds()) / 1000
		ev.LatePackets = js.Late
		ev.ConcealedFrames = l.concealed.Load()
	}
	r.publish(pt, c, ev)
}
