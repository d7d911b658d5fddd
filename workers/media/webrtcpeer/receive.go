package webrtcpeer

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// receiveMTU is the largest packet read: pion's default receive MTU.
const receiveMTU = 1460

// rxCounters are the receive side's figures; the receive goroutine is the
// only writer.
type rxCounters struct {
	packets, octets atomic.Uint64
	ignored         atomic.Uint64 // payload types not negotiated
	malformed       atomic.Uint64 // not parsable as RTP after SRTP
	rtcp            atomic.Uint64 // compound RTCP packets read
}

// onTrack runs on a goroutine pion starts for the remote audio track. It
// becomes the leg's receive goroutine: the leg's WaitGroup counts it, so
// that Close waits for it like for the goroutines the leg starts itself.
func (l *Leg) onTrack(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	l.mu.Lock()
	if l.closed || l.reading || r != l.receiver {
		l.mu.Unlock()
		return
	}
	l.reading = true
	l.wg.Add(1)
	l.mu.Unlock()
	defer l.wg.Done()
	l.remoteSSRC.Store(uint32(t.SSRC()))
	l.readRTP(t)
}

// readRTP reads the remote track until the leg closes, demultiplexing by
// payload type itself: pion's TrackRemote.Codec() follows the last
// packet's payload type (it flips to telephone-event during a digit), so
// the codec of the track says nothing about a given packet.
func (l *Leg) readRTP(t *webrtc.TrackRemote) {
	buf := make([]byte, receiveMTU)
	var pkt rtp.Packet
	var accept [128]bool
	if neg := l.neg.Load(); neg != nil {
		accept[neg.Audio.PayloadType&0x7f] = true
		if neg.TelephoneEvent != nil {
			accept[neg.TelephoneEvent.PayloadType&0x7f] = true
		}
	}
	var fails int
	for {
		n, _, err := t.Read(buf)
		if err != nil && n == 0 {
			if l.stopReading(err, &fails) {
				return
			}
			continue
		}
		// With n > 0, an error is pion's payload type lookup failing: the
		// packet is there, and judged below like any other.
		fails = 0
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			l.rx.malformed.Add(1)
			l.counters.malformed()
			continue
		}
		if !accept[pkt.PayloadType&0x7f] {
			l.rx.ignored.Add(1)
			l.counters.ignored()
			continue
		}
		l.rx.packets.Add(1)
		l.rx.octets.Add(uint64(len(pkt.Payload)))
		l.counters.in(len(pkt.Payload))
		l.lastActivity.Store(time.Now().UnixNano())
		if l.onPacket != nil {
			l.onPacket(&pkt)
		}
	}
}

// readSenderRTCP reads the RTCP about our stream (receiver reports from the
// remote). Reading is what runs it through the interceptors: the stats
// interceptor takes the round-trip time and the remote's loss from it.
func (l *Leg) readSenderRTCP() {
	l.mu.Lock()
	s := l.sender
	l.mu.Unlock()
	l.readRTCP(s.Read)
}

// readReceiverRTCP reads the RTCP about the remote's stream (its sender
// reports), which the report interceptor needs for the LSR and DLSR of
// our receiver reports (RFC 3550 §6.4.1), hence the remote's RTT.
func (l *Leg) readReceiverRTCP() {
	l.mu.Lock()
	r := l.receiver
	l.mu.Unlock()
	l.readRTCP(r.Read)
}

func (l *Leg) readRTCP(read func([]byte) (int, interceptor.Attributes, error)) {
	buf := make([]byte, receiveMTU)
	var fails int
	for {
		n, _, err := read(buf)
		if err != nil {
			// An RTCP packet the interceptors cannot parse comes back as
			// an error too; only a closed stream ends the loop.
			if l.stopReading(err, &fails) {
				return
			}
			continue
		}
		fails = 0
		if n > 0 {
			l.rx.rtcp.Add(1)
			l.counters.rtcpIn()
			l.lastActivity.Store(time.Now().UnixNano())
		}
	}
}

// stopReading tells a read loop whether err ends it: the leg is closing or
// the stream is gone. Other errors are per packet; after a run of them
// the loop pauses briefly rather than spin on a stream that keeps failing.
func (l *Leg) stopReading(err error, fails *int) bool {
	select {
	case <-l.done:
		return true
	default:
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) {
		return true
	}
	*fails++
	if *fails%64 == 0 {
		select {
		case <-l.done:
			return true
		case <-time.After(20 * time.Millisecond):
		}
	}
	return false
}
