package webrtcpeer

import (
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-voip/switchboard/workers/media/rtpsession"
)

// MaxPayload is the largest payload the write methods accept: what fits a
// 1200-byte packet, the size WebRTC stacks keep under to avoid
// fragmentation on any path, with the RTP header and the SRTP tag.
const MaxPayload = 1200 - 12 - 10

// sendStream is the leg's outgoing audio: a pion TrackLocal of our own,
// because pion's TrackLocalStaticRTP rewrites every packet's payload type
// to the bound codec and telephone-events need theirs (RFC 4733 §2.1:
// events share the audio's SSRC, sequence and timestamp space). It keeps
// the RTP send state as rtpsession.Session does.
type sendStream struct {
	ssrc     atomic.Uint32 // the sender's, fixed by pion when the track is added
	counters *countersRef

	mu          sync.Mutex
	closed      bool
	writer      webrtc.TrackLocalWriter // nil until pion binds the track (DTLS done)
	pt          uint8                   // the audio's payload type
	hdr         rtp.Header              // reused for every packet
	clock       rtpsession.Clock
	packetsSent uint64
	octetsSent  uint64
	lastSentAt  time.Time
}

// setNegotiation sets the audio payload type WriteSample uses.
func (s *sendStream) setNegotiation(n *Negotiation) {
	s.mu.Lock()
	s.pt = n.Audio.PayloadType
	s.mu.Unlock()
}

// ID, RID, StreamID and Kind name the track in the answer's a=msid.
func (s *sendStream) ID() string                { return "audio" }
func (s *sendStream) RID() string               { return "" }
func (s *sendStream) StreamID() string          { return "switchboard" }
func (s *sendStream) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// Bind is called by pion once DTLS-SRTP is up: from now on packets can be
// written. It reports the audio codec as the track's codec (pion's RTCP
// sender reports use its clock rate).
func (s *sendStream) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	codecs := ctx.CodecParameters()
	var chosen *webrtc.RTPCodecParameters
	for i := range codecs {
		c := &codecs[i]
		if uint8(c.PayloadType) == s.pt && !strings.EqualFold(c.MimeType, MimeTypeTelephoneEvent) {
			chosen = c
			break
		}
		if chosen == nil && !strings.EqualFold(c.MimeType, MimeTypeTelephoneEvent) {
			chosen = c
		}
	}
	if chosen == nil {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	s.pt = uint8(chosen.PayloadType)
	s.writer = ctx.WriteStream()
	s.ssrc.Store(uint32(ctx.SSRC()))
	return *chosen, nil
}

// Unbind is called by pion when the sender stops.
func (s *sendStream) Unbind(webrtc.TrackLocalContext) error {
	s.mu.Lock()
	s.writer = nil
	s.mu.Unlock()
	return nil
}

// close makes every later write fail with ErrClosed.
func (s *sendStream) close() {
	s.mu.Lock()
	s.closed = true
	s.writer = nil
	s.mu.Unlock()
}

// WriteSample sends one frame of the negotiated audio codec: our SSRC, the
// next sequence number and the current timestamp, which then advances by
// samples (RFC 3550 §5.1; for Opus in 48 kHz units whatever rate it was
// encoded at, RFC 7587 §4.1). marker flags the first packet of a talkspurt
// (RFC 3551 §4.1). Until the leg is connected the timestamp advances and
// ErrNotConnected is returned.
func (l *Leg) WriteSample(payload []byte, samples uint32, marker bool) error {
	return l.out.writeSample(payload, samples, marker)
}

// WriteRTP is WriteSample with an explicit payload type, for packets of
// another format on the same stream such as telephone-events (RFC 4733),
// which share the SSRC, sequence and timestamp space.
func (l *Leg) WriteRTP(pt uint8, payload []byte, samples uint32, marker bool) error {
	if pt > 127 {
		return ErrPayloadType
	}
	return l.out.write(pt, true, payload, samples, marker, 0, false)
}

// Timestamp is the timestamp the next frame written will carry.
func (l *Leg) Timestamp() uint32 {
	l.out.mu.Lock()
	defer l.out.mu.Unlock()
	return l.out.clock.Timestamp()
}

// writeSample, beginEvent, writeAt, endEvent and skip are the send state
// machine behind the Leg methods of the same names.
func (s *sendStream) writeSample(payload []byte, samples uint32, marker bool) error {
	return s.write(0, false, payload, samples, marker, 0, false)
}

func (s *sendStream) beginEvent() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock.BeginEvent()
}

func (s *sendStream) writeAt(pt uint8, payload []byte, ts uint32, marker bool) error {
	if pt > 127 {
		return ErrPayloadType
	}
	return s.write(pt, true, payload, 0, marker, ts, true)
}

func (s *sendStream) endEvent(samples uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock.EndEvent(samples)
}

func (s *sendStream) skip(samples uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock.Skip(samples)
}

// BeginEvent starts a run of packets that carry their own timestamps
// (WriteAt), such as the packets of an RFC 4733 event, which all have the
// event's start timestamp (§2.3.1). Until EndEvent, WriteSample and
// WriteRTP drop their frames (returning nil) without advancing the
// timestamp: the event replaces the audio (§2.5.1.1). It returns the
// timestamp the run starts at.
func (l *Leg) BeginEvent() uint32 { return l.out.beginEvent() }

// WriteAt sends one packet of payload type pt with timestamp ts and the
// next sequence number, leaving the stream's timestamp alone: for the
// packets of a run begun with BeginEvent.
func (l *Leg) WriteAt(pt uint8, payload []byte, ts uint32, marker bool) error {
	return l.out.writeAt(pt, payload, ts, marker)
}

// EndEvent ends the run: the timestamp advances by samples, the run's
// length in clock units, and the next frame is marked as a talkspurt's
// first.
func (l *Leg) EndEvent(samples uint32) { l.out.endEvent(samples) }

// Skip advances the timestamp by samples without sending (silence, a frame
// not played), so that the next packet's timestamp tells the gap (RFC 3550
// §5.1). The caller marks that next packet as a talkspurt's first.
func (l *Leg) Skip(samples uint32) { l.out.skip(samples) }

// write builds the header and hands the packet to pion, which runs it
// through the interceptors (sender reports, stats) and SRTP.
func (s *sendStream) write(pt uint8, explicitPT bool, payload []byte, samples uint32, marker bool, at uint32, explicitTS bool) error {
	if len(payload) > MaxPayload {
		return ErrPayloadTooLarge
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	ts := at
	if !explicitTS {
		var ok bool
		if ts, marker, ok = s.clock.Frame(samples, marker); !ok {
			return nil // an event replaces the audio
		}
	}
	if s.writer == nil {
		return ErrNotConnected
	}
	if !explicitPT {
		pt = s.pt
	}
	s.hdr = rtp.Header{
		Version:        2,
		Marker:         marker,
		PayloadType:    pt,
		SequenceNumber: s.clock.Seq(),
		Timestamp:      ts,
		SSRC:           s.ssrc.Load(),
	}
	_, err := s.writer.WriteRTP(&s.hdr, payload)
	if err != nil {
		s.counters.sendError()
		if errors.Is(err, io.ErrClosedPipe) {
			return ErrClosed
		}
		return err
	}
	s.packetsSent++
	s.octetsSent += uint64(len(payload))
	s.lastSentAt = time.Now()
	s.counters.out(len(payload))
	return nil
}
