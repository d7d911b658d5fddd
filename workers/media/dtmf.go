package media

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/workers/dtmf/feed"
	"github.com/switchboard-voip/switchboard/workers/dtmf/info"
	"github.com/switchboard-voip/switchboard/workers/media/codec"
	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

// feedQueue bounds the records waiting to be published to the dtmf role:
// at 50 records a second per in-band call it holds several seconds of a
// busy node's traffic; beyond it records are dropped and counted rather
// than stall an RTP goroutine.
const feedQueue = 8192

// dtmfFeed hands records to the dtmf role (package feed) without blocking
// the RTP goroutines that make them: a bounded queue, and one goroutine
// that publishes.
type dtmfFeed struct {
	nc         *nats.Conn
	partitions int
	ch         chan feedRecord
	stop       chan struct{}
	dropped    prometheus.Counter
	records    *prometheus.CounterVec
	byKind     map[string]prometheus.Counter // records' children, resolved once
}

// feedRecord is what the RTP goroutine queues; the subject (a hash of the
// Call-ID and a string) is made by the publishing goroutine, off the
// media path.
type feedRecord struct {
	callID, kind string
	data         []byte
}

func newDTMFFeed(nc *nats.Conn, partitions int) *dtmfFeed {
	f := &dtmfFeed{
		nc: nc, partitions: partitions, ch: make(chan feedRecord, feedQueue), stop: make(chan struct{}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sb_media_dtmf_feed_dropped_total", Help: "Records for the dtmf role dropped because the queue to NATS was full.",
		}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sb_media_dtmf_feed_records_total", Help: "Records forwarded to the dtmf role, by kind (rtp, info, pcm, end).",
		}, []string{"kind"}),
		byKind: map[string]prometheus.Counter{},
	}
	for _, k := range []string{feed.KindRTP, feed.KindInfo, feed.KindPCM, feed.KindEnd} {
		f.byKind[k] = f.records.WithLabelValues(k)
	}
	return f
}

// push queues a record; it never blocks.
func (f *dtmfFeed) push(callID, kind string, data []byte) {
	select {
	case f.ch <- feedRecord{callID: callID, kind: kind, data: data}:
		f.byKind[kind].Inc()
	default:
		f.dropped.Inc()
	}
}

// run publishes queued records until stop is closed, then what is left.
func (f *dtmfFeed) run() {
	for {
		select {
		case rec := <-f.ch:
			f.publish(rec)
		case <-f.stop:
			for {
				select {
				case rec := <-f.ch:
					f.publish(rec)
				default:
					return
				}
			}
		}
	}
}

func (f *dtmfFeed) publish(rec feedRecord) {
	_ = f.nc.Publish(feed.Subject(rec.callID, f.partitions, rec.kind), rec.data)
}

// telephoneEvent is the remote's negotiated RFC 4733 format.
type telephoneEvent struct {
	pt   uint8
	rate uint32
}

// dtmfState is a call's DTMF plumbing on the media side.
type dtmfState struct {
	te      atomic.Pointer[telephoneEvent] // nil: no telephone-event negotiated
	inband  atomic.Bool                    // forward decoded audio to the in-band detector
	forced  bool                           // inband was set by a command (partition lock)
	pcmDec  codec.Decoder                  // the RTP goroutine's own decoder for inband
	pcmKind int
	pcm     []int16
	stop    chan struct{} // closed to end the dtmf_send running (partition lock)
	pass    passThrough   // the RTP goroutine's
}

// passThrough maps the events a call receives onto its bridged peer's
// stream: each incoming event (SSRC and timestamp) gets the peer stream's
// timestamp at its first packet, kept for all its packets (RFC 4733
// §2.3.1).
type passThrough struct {
	valid      bool
	ssrc, inTS uint32
	outTS      uint32
	buf        []byte
}

// applyDTMF takes the remote's telephone-event format into use and, unless
// a command said otherwise, turns in-band detection on for calls without
// one when the node's default asks for it.
func (c *Call) applyDTMF(s *sdp.Session, inbandDefault bool) {
	if s.DTMF != nil {
		c.dtmf.te.Store(&telephoneEvent{pt: s.DTMF.PT, rate: s.DTMF.Rate})
	} else {
		c.dtmf.te.Store(nil)
	}
	if !c.dtmf.forced {
		c.dtmf.inband.Store(inbandDefault && s.DTMF == nil)
	}
}

// onPacket runs on the call's RTP goroutine for every packet received:
// telephone-events (on any SSRC) go to the dtmf role, audio to onAudio and,
// with in-band detection on, decoded to the dtmf role too.
func (c *Call) onPacket(pkt *rtpPacket) {
	if te := c.dtmf.te.Load(); te != nil && pkt.PayloadType == te.pt {
		if c.feed != nil {
			c.feed.push(c.ID, feed.KindRTP, feed.AppendRTP(nil, c.ID, time.Now(), feed.RTP{
				SSRC: pkt.SSRC, Seq: pkt.SequenceNumber, Timestamp: pkt.Timestamp, Marker: pkt.Marker,
				ClockRate: te.rate, Payload: pkt.Payload,
			}))
		}
		c.passDTMF(pkt, te)
		return
	}
	c.onAudio(pkt)
	if c.dtmf.inband.Load() && c.feed != nil {
		c.forwardPCM(pkt)
	}
}

// passDTMF relays a telephone-event packet to the bridged peer, when it
// negotiated telephone-event too: its payload type, its stream's SSRC,
// sequence and timestamp, durations converted between clock rates. The
// echo route does not send digits back.
func (c *Call) passDTMF(pkt *rtpPacket, in *telephoneEvent) {
	dst := c.forward.Load()
	if dst == nil || dst == c {
		return
	}
	s, out := dst.sess.Load(), dst.dtmf.te.Load()
	if s == nil || out == nil || len(pkt.Payload) == 0 || len(pkt.Payload)%4 != 0 {
		return
	}
	p := &c.dtmf.pass
	if !p.valid || pkt.SSRC != p.ssrc || pkt.Timestamp != p.inTS {
		p.valid, p.ssrc, p.inTS, p.outTS = true, pkt.SSRC, pkt.Timestamp, s.Timestamp()
	}
	payload := pkt.Payload
	if out.rate != in.rate && in.rate != 0 {
		p.buf = append(p.buf[:0], payload...)
		for i := 0; i+3 < len(p.buf); i += 4 {
			d := uint64(p.buf[i+2])<<8 | uint64(p.buf[i+3])
			d = min(d*uint64(out.rate)/uint64(in.rate), 0xFFFF)
			p.buf[i+2], p.buf[i+3] = byte(d>>8), byte(d)
		}
		payload = p.buf
	}
	_ = s.WriteAt(out.pt, payload, p.outTS, pkt.Marker)
}

// forwardPCM decodes an audio packet to 8 kHz with the goroutine's own
// decoder and forwards it for in-band detection.
func (c *Call) forwardPCM(pkt *rtpPacket) {
	in := c.format.Load()
	if in == nil || pkt.PayloadType != in.pt || len(pkt.Payload) == 0 {
		return
	}
	d := &c.dtmf
	if d.pcmDec == nil || d.pcmKind != in.kind {
		var err error
		if d.pcmDec, err = newDecoder(in.kind, transcodeRate); err != nil {
			return
		}
		d.pcmKind = in.kind
		d.pcm = make([]int16, codec.MaxPacketSamples(transcodeRate))
	}
	n, err := d.pcmDec.Decode(pkt.Payload, d.pcm)
	if err != nil || n == 0 {
		return
	}
	c.feed.push(c.ID, feed.KindPCM, feed.AppendPCM(nil, c.ID, time.Now(), d.pcm[:n]))
}

// SIP INFO results, the label of sb_media_sip_info_total.
const (
	infoOK          = "ok"
	infoUnsupported = "unsupported_type"
	infoBad         = "bad_body"
)

// onInfo answers an in-dialog INFO (RFC 6086): a DTMF body is forwarded to
// the dtmf role and answered 200; another content type gets 415 with the
// ones we take; a DTMF body we cannot read gets 400. An INFO without a
// body (a keep-alive) gets 200.
func (r *Role) onInfo(c *Call, req *sip.Request, in inbound) {
	body := req.Body()
	if len(body) == 0 {
		r.respond(in, sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	sig, err := info.Parse(ct, body)
	switch {
	case err == nil:
		r.met.info.WithLabelValues(infoOK).Inc()
		r.respond(in, sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		r.feed.push(c.ID, feed.KindInfo, feed.AppendInfo(nil, c.ID, time.Now(), feed.Info{Digit: byte(sig.Digit), Duration: sig.Duration}))
	case errors.Is(err, info.ErrContentType):
		r.met.info.WithLabelValues(infoUnsupported).Inc()
		res := sip.NewResponseFromRequest(req, sip.StatusUnsupportedMediaType, "Unsupported Media Type", nil)
		res.AppendHeader(sip.NewHeader("Accept", info.ContentTypeRelay+", "+info.ContentTypeDTMF))
		r.respond(in, res)
	default:
		r.met.info.WithLabelValues(infoBad).Inc()
		r.respond(in, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
	}
}
