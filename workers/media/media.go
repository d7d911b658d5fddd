package media

import (
	"fmt"
	"strings"
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
// so the RTP goroutines never see it change under them. dec and pcm are used
// by the call's own RTP goroutine (what it receives); enc and out by the
// goroutine of whichever call sends audio to it (bridge peer, or itself).
type audioFormat struct {
	pt   uint8
	kind int
	dec  codec.Decoder
	enc  codec.Encoder
	pcm  []int16
	out  []byte
}

func newAudioFormat(c sdp.Codec) (*audioFormat, error) {
	f := &audioFormat{pt: c.PT, pcm: make([]int16, codec.MaxPacketSamples(transcodeRate)), out: make([]byte, codec.MaxPayload)}
	var err error
	switch strings.ToUpper(c.Name) {
	case "PCMU":
		f.kind, f.dec, f.enc = kindPCMU, codec.NewPCMUDecoder(), codec.NewPCMUEncoder()
	case "PCMA":
		f.kind, f.dec, f.enc = kindPCMA, codec.NewPCMADecoder(), codec.NewPCMAEncoder()
	case "OPUS":
		f.kind = kindOpus
		if f.dec, err = codec.NewOpusDecoder(transcodeRate); err != nil {
			return nil, err
		}
		if f.enc, err = codec.NewOpusEncoder(transcodeRate, codec.DefaultOpusConfig(transcodeRate)); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("no media path for codec %s", c.Name)
	}
	return f, nil
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

// onAudio runs on the call's RTP goroutine for every packet received. It
// sends the audio wherever the call's forward pointer says: itself (echo) or
// its bridged peer, transcoding PCMU<->PCMA when the two legs differ. G.711
// has one byte per sample, so the payload length is the timestamp step.
func (c *Call) onAudio(pkt *rtp.Packet) {
	dst, in := c.forward.Load(), c.format.Load()
	if dst == nil || in == nil || pkt.PayloadType != in.pt || len(pkt.Payload) == 0 {
		return // not audio (DTMF arrives with its own issue), or nowhere to go
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
	case in.kind != kindOpus && out.kind != kindOpus:
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
		// G.711<->Opus: decode to 8 kHz PCM, encode for the other leg.
		c.concealGap(pkt, in, out, s)
		n, err := in.dec.Decode(payload, in.pcm)
		if err != nil || n == 0 {
			return
		}
		m, err := out.enc.Encode(in.pcm[:n], out.out)
		if err != nil {
			return
		}
		payload, samples = out.out[:m], uint32(n)
		if out.kind == kindOpus {
			samples = uint32(n * codec.OpusClockRate / transcodeRate)
		}
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
	if c.restored && c.sess.Load() == nil && now.Sub(c.restoredAt) > r.cfg.MediaTimeout {
		// Taken over from a node that died, but its media was not (moving
		// media with a re-INVITE is the failover work still to come): end
		// it properly rather than keep a call nobody can hear forever.
		if c.State == StateAnswered {
			r.send(pt, r.request(c, "BYE", nil), c.Edge, c.destination(), nil)
		}
		r.end(pt, c, events.StatusFailed, 503, "owner changed; media not taken over", events.ByPlatform)
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
			r.send(pt, r.request(c, "BYE", nil), c.Edge, c.destination(), nil)
			r.end(pt, c, events.StatusCompleted, 200, "media timeout", events.ByPlatform)
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
	r.publish(pt, c, &events.CallMediaStats{
		Codec: c.Codec, PacketsSent: st.PacketsSent, PacketsReceived: st.PacketsReceived,
		PacketsLost: st.Lost, FractionLost: st.FractionLost,
		JitterMS: float64(st.JitterDuration.Microseconds()) / 1000, RTTMS: float64(st.RTT.Microseconds()) / 1000,
		Final: final,
	})
}

// maxConcealed bounds the frames synthesized for one gap: past 100 ms the
// far end's own silence handling does better than invented audio.
const maxConcealed = 5

// concealGap fills a hole in the incoming sequence before a transcoded
// packet is forwarded, so the other leg hears continuous audio: the frame
// just before the arriving packet is rebuilt from that packet's in-band FEC
// when the codec has it (Opus, RFC 6716 §2.1.7), earlier ones by the
// decoder's concealment (Opus PLC; G.711 Appendix I style repeat and fade).
// Legs relayed without transcoding leave this to the endpoints, which have
// their own concealment.
func (c *Call) concealGap(pkt *rtp.Packet, in, out *audioFormat, s interface {
	WriteSample([]byte, uint32, bool) error
}) {
	seq := pkt.SequenceNumber
	gap := int(seq - c.lastSeq - 1) // uint16 arithmetic wraps correctly
	had := c.haveSeq
	c.lastSeq, c.haveSeq = seq, true
	if !had || gap <= 0 || gap > maxConcealed {
		return
	}
	fec, _ := in.dec.(codec.FECDecoder)
	for i := 0; i < gap; i++ {
		var n int
		var err error
		if i == gap-1 && fec != nil {
			n, err = fec.DecodeFEC(pkt.Payload, in.pcm[:transcodeRate/50])
		} else {
			n, err = in.dec.Conceal(in.pcm[:transcodeRate/50])
		}
		if err != nil || n == 0 {
			return
		}
		m, err := out.enc.Encode(in.pcm[:n], out.out)
		if err != nil {
			return
		}
		samples := uint32(n)
		if out.kind == kindOpus {
			samples = uint32(n * codec.OpusClockRate / transcodeRate)
		}
		_ = s.WriteSample(out.out[:m], samples, false)
	}
}
