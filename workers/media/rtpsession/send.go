package rtpsession

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"
)

// sendBufSize bounds one outgoing RTP packet: an Ethernet MTU less IPv6
// and UDP headers, so that no frame we send is fragmented.
const sendBufSize = 1500 - 40 - 8

// rtpHeaderSize is the fixed header of RFC 3550 §5.1; we send no CSRC and
// no extension.
const rtpHeaderSize = 12

// MaxPayload is the largest payload WriteSample and WriteRTP accept.
const MaxPayload = sendBufSize - rtpHeaderSize

// WriteSample sends one frame of the session's payload type (Config
// PayloadType or SetPayloadType): our SSRC, the next sequence number and
// the current timestamp, which then advances by samples (RFC 3550 §5.1).
// marker flags the first packet of a talkspurt (RFC 3551 §4.1). It does not
// allocate.
//
// While no remote is known the timestamp still advances, so that the media
// clock stays continuous, and ErrNoRemote is returned.
func (s *Session) WriteSample(payload []byte, samples uint32, marker bool) error {
	return s.write(0, false, payload, samples, marker, 0, false)
}

// WriteRTP is WriteSample with an explicit payload type, for packets of
// another format on the same stream such as telephone-events (RFC 4733),
// which share the SSRC, sequence and timestamp space.
func (s *Session) WriteRTP(pt uint8, payload []byte, samples uint32, marker bool) error {
	if pt > 127 {
		return ErrPayloadType
	}
	return s.write(pt, true, payload, samples, marker, 0, false)
}

// Timestamp is the timestamp the next frame written will carry.
func (s *Session) Timestamp() uint32 {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	return s.clock.Timestamp()
}

// BeginEvent starts a run of packets that carry their own timestamps
// (WriteAt): RFC 4733 events, whose packets all have the event's start
// timestamp (§2.3.1) while audio and events share one timestamp space, or
// synthesized tones. Until EndEvent, WriteSample and WriteRTP drop their
// frames (returning nil) without advancing the timestamp: the event
// replaces the audio (§2.5.1.1 lets a sender stop audio during an event).
// It returns the timestamp the run starts at.
func (s *Session) BeginEvent() uint32 {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	return s.clock.BeginEvent()
}

// WriteAt sends one packet of payload type pt with timestamp ts, the
// next sequence number and our SSRC, and leaves the stream's timestamp
// alone. It is meant for the packets of a run begun with BeginEvent.
func (s *Session) WriteAt(pt uint8, payload []byte, ts uint32, marker bool) error {
	if pt > 127 {
		return ErrPayloadType
	}
	return s.write(pt, true, payload, 0, marker, ts, true)
}

// EndEvent ends the run: the timestamp advances by samples (the run's
// length in clock units, so that the next frame's timestamp says how long
// it was) and the next frame written is marked as a talkspurt's first.
func (s *Session) EndEvent(samples uint32) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.clock.EndEvent(samples)
}

// Skip advances the timestamp by samples without sending: time passed with
// nothing to send (silence, a frame not played), so that the next packet's
// timestamp says how long the gap was (RFC 3550 §5.1, RFC 3551 §4.1). The
// caller marks that next packet as the start of a talkspurt.
func (s *Session) Skip(samples uint32) {
	s.sendMu.Lock()
	s.clock.Skip(samples)
	s.sendMu.Unlock()
}

// write builds the packet in the session's send buffer and sends it.
func (s *Session) write(pt uint8, explicitPT bool, payload []byte, samples uint32, marker bool, at uint32, explicitTS bool) error {
	if len(payload) > MaxPayload {
		return ErrPayloadTooLarge
	}
	s.sendMu.Lock()
	if s.closed {
		s.sendMu.Unlock()
		return ErrClosed
	}
	ts := at
	if !explicitTS {
		var ok bool
		if ts, marker, ok = s.clock.Frame(samples, marker); !ok {
			s.sendMu.Unlock()
			return nil // an event replaces the audio
		}
	}
	remote := s.remote.Load()
	if remote == nil || !remote.rtp.IsValid() {
		s.sendMu.Unlock()
		return ErrNoRemote
	}
	if !explicitPT {
		pt = s.pt
	}
	b := s.sendBuf[:rtpHeaderSize+len(payload)]
	b[0] = 2 << 6 // V=2, no padding, no extension, no CSRC
	b[1] = pt
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], s.clock.Seq())
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], s.ssrc)
	copy(b[rtpHeaderSize:], payload)
	_, err := s.pair.RTP.WriteToUDPAddrPort(b, remote.rtp)
	if err == nil {
		s.packetsSent++
		s.octetsSent += uint64(len(payload))
		s.lastSentTS = ts
		s.lastSentAt = time.Now()
	}
	s.sendMu.Unlock()

	if c := s.counters; c != nil {
		if err == nil {
			c.PacketsOut.Add(1)
			c.OctetsOut.Add(uint64(len(payload)))
		} else {
			c.SendErrors.Add(1)
		}
	}
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return ErrClosed
		}
		return fmt.Errorf("rtpsession: send to %s: %w", remote.rtp, err)
	}
	return nil
}
