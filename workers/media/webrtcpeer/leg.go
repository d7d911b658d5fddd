package webrtcpeer

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-voip/switchboard/workers/media/rtpsession"
)

// State is where a leg's connection stands, as LegConfig.OnState reports
// it.
type State int

// The states a leg goes through. Connected may go to Disconnected and back
// (consent freshness lost for a few seconds, RFC 7675), Disconnected to
// Failed. Closed is reported exactly once: when the remote closes the
// connection (DTLS close_notify, RFC 5246 §7.2.1: the browser's pc.close()
// or a closed tab), which is a hangup from the far end, or else by Close.
const (
	StateNew State = iota
	StateConnecting
	StateConnected
	StateDisconnected
	StateFailed
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateNew:
		return "new"
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateDisconnected:
		return "disconnected"
	case StateFailed:
		return "failed"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// LegConfig is what one leg tells its owner.
type LegConfig struct {
	// OnPacket is called from the leg's receive goroutine for every RTP
	// packet of a negotiated payload type (the audio codec or
	// telephone-event, see Negotiated), other payload types being dropped
	// and counted in Stats.Ignored. The packet and its payload are valid
	// only during the call; the buffers are reused. It must not call
	// Close. Nil drops the media; statistics are kept.
	OnPacket func(p *rtp.Packet)
	// OnState is called on the leg's own goroutine, in order, when the
	// connection changes state, and once with StateClosed from Close. It
	// must not block for long nor call Close.
	OnState func(State)
	// Log receives the leg's messages; nil uses the engine's.
	Log *slog.Logger
}

// Negotiation is what the answer settled: the audio codec both directions
// use and the telephone-event format, if any.
type Negotiation struct {
	// Audio is the codec sent and expected.
	Audio Codec
	// TelephoneEvent is RFC 4733's format, at the audio's clock rate when
	// the offer had it; nil when the offer had none.
	TelephoneEvent *Codec
}

// Leg is one WebRTC call leg: a PeerConnection with one sendrecv audio
// transceiver, answered from a remote offer, with the send state (SSRC,
// sequence number, timestamp) kept by the leg as rtpsession keeps it for a
// SIP leg. All methods are safe for concurrent use.
type Leg struct {
	e        *Engine
	onPacket func(*rtp.Packet)
	onState  func(State)
	log      *slog.Logger
	counters *countersRef

	done      chan struct{}
	stateKick chan struct{}
	wg        sync.WaitGroup

	mu        sync.Mutex // guards the fields below
	answering bool
	closed    bool
	pc        *webrtc.PeerConnection
	sender    *webrtc.RTPSender
	receiver  *webrtc.RTPReceiver
	reading   bool // a receive goroutine was started
	statsGet  stats.Getter

	closedSaid   atomic.Bool // StateClosed was reported
	neg          atomic.Pointer[Negotiation]
	remoteSSRC   atomic.Uint32
	lastActivity atomic.Int64 // unix nanoseconds
	rx           rxCounters

	out sendStream
}

// NewLeg makes a leg; it holds nothing until Answer.
func (e *Engine) NewLeg(cfg LegConfig) *Leg {
	log := cfg.Log
	if log == nil {
		log = e.cfg.Log
	}
	l := &Leg{
		e:         e,
		onPacket:  cfg.OnPacket,
		onState:   cfg.OnState,
		log:       log,
		counters:  &countersRef{c: e.cfg.Counters},
		done:      make(chan struct{}),
		stateKick: make(chan struct{}, 1),
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	// RFC 3550 §5.1: random initial sequence number and timestamp.
	l.out.clock = rtpsession.NewClock(binary.BigEndian.Uint16(rnd[0:]), binary.BigEndian.Uint32(rnd[2:]))
	l.out.counters = l.counters
	l.lastActivity.Store(time.Now().UnixNano())
	return l
}

// Answer takes the remote's SDP offer (a browser's createOffer, posted to
// the edge) and returns our answer, with every ICE candidate in it: the
// leg does not trickle (RFC 8838), it waits for gathering to complete, up
// to Config.GatherTimeout. Errors wrap ErrBadOffer (400), ErrNotAcceptable
// (488), ErrNoCandidates or ErrState; on error the leg holds nothing and
// may only be closed.
func (l *Leg) Answer(ctx context.Context, offerSDP []byte) ([]byte, error) {
	l.mu.Lock()
	if l.answering || l.closed {
		l.mu.Unlock()
		return nil, ErrState
	}
	l.answering = true
	l.mu.Unlock()

	o, err := parseOffer(offerSDP, l.e.cfg.MaxOfferSize, l.e.codecs)
	if err != nil {
		return nil, err
	}
	pc, getter, err := l.e.newPeerConnection()
	if err != nil {
		return nil, fmt.Errorf("webrtcpeer: new peer connection: %w", err)
	}
	answer, err := l.negotiate(ctx, pc, o)
	if err != nil {
		_ = pc.GracefulClose()
		l.wg.Wait() // a receive goroutine may have started
		return nil, err
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed { // Close ran meanwhile and found no pc to close
		_ = pc.GracefulClose()
		return nil, ErrState
	}
	l.pc, l.statsGet = pc, getter
	l.wg.Go(l.stateLoop)
	l.wg.Go(l.readSenderRTCP)
	l.wg.Go(l.readReceiverRTCP)
	l.kickState()
	return answer, nil
}

// negotiate runs the offer/answer exchange on pc.
func (l *Leg) negotiate(ctx context.Context, pc *webrtc.PeerConnection, o *offer) ([]byte, error) {
	pc.OnTrack(l.onTrack)
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) { l.kickState() })

	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.text}); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	// After the offer, so that the transceiver pion made for the offer's
	// audio m-line is the one that sends (JSEP §5.10, RFC 8829).
	sender, err := pc.AddTrack(&l.out)
	if err != nil {
		return nil, fmt.Errorf("webrtcpeer: add track: %w", err)
	}
	var tr *webrtc.RTPTransceiver
	for _, t := range pc.GetTransceivers() {
		if t.Sender() == sender {
			tr = t
		}
	}
	if tr == nil {
		return nil, fmt.Errorf("webrtcpeer: no transceiver for the audio track")
	}
	// Answer with exactly one audio codec (and telephone-event), so that
	// both directions use the one the offerer preferred.
	if err := tr.SetCodecPreferences(o.prefs); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAcceptable, err)
	}
	neg := &Negotiation{Audio: o.audio, TelephoneEvent: o.te}
	l.neg.Store(neg)
	l.out.setNegotiation(neg)
	if enc := sender.GetParameters().Encodings; len(enc) > 0 {
		l.out.ssrc.Store(uint32(enc[0].SSRC))
	}
	l.mu.Lock()
	l.sender, l.receiver = sender, tr.Receiver()
	l.mu.Unlock()

	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAcceptable, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAcceptable, err)
	}
	timer := time.NewTimer(l.e.cfg.GatherTimeout)
	defer timer.Stop()
	select {
	case <-gathered:
	case <-timer.C:
		l.log.Warn("ICE gathering timed out; answering with the candidates so far", "after", l.e.cfg.GatherTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	local := pc.LocalDescription()
	if local == nil || !strings.Contains(local.SDP, "a=candidate:") {
		return nil, ErrNoCandidates
	}
	return []byte(local.SDP), nil
}

// Negotiated returns what the answer settled, or nil before Answer
// succeeded.
func (l *Leg) Negotiated() *Negotiation { return l.neg.Load() }

// SSRC is our synchronization source, fixed for the life of the leg (0
// before Answer).
func (l *Leg) SSRC() uint32 { return l.out.ssrc.Load() }

// State is the connection's current state.
func (l *Leg) State() State {
	l.mu.Lock()
	pc, closed := l.pc, l.closed
	l.mu.Unlock()
	switch {
	case closed, l.closedSaid.Load():
		return StateClosed
	case pc == nil:
		return StateNew
	}
	return mapState(pc.ConnectionState())
}

// LastActivity is when the last RTP packet or RTCP report from the remote
// arrived, or when the leg was made if none has: the call compares it
// with its media timeout, as for a SIP leg.
func (l *Leg) LastActivity() time.Time { return time.Unix(0, l.lastActivity.Load()) }

// Close hangs the leg up: it closes the PeerConnection (DTLS close_notify
// and RTCP BYE go out), stops every goroutine of the leg and waits for
// them, then reports StateClosed. It may be called more than once.
func (l *Leg) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	pc := l.pc
	close(l.done)
	l.mu.Unlock()

	l.out.close()
	var err error
	if pc != nil {
		err = pc.GracefulClose()
	}
	l.wg.Wait()
	if pc != nil {
		l.sayClosed()
	}
	return err
}

// kickState wakes the state goroutine; pion calls its handlers on
// goroutines of its own, in no particular order, so they only signal and
// the state is read from the connection.
func (l *Leg) kickState() {
	select {
	case l.stateKick <- struct{}{}:
	default:
	}
}

// stateLoop reports state changes in order, on one goroutine the leg owns.
func (l *Leg) stateLoop() {
	last := StateNew
	for {
		select {
		case <-l.done:
			return
		case <-l.stateKick:
		}
		l.mu.Lock()
		pc := l.pc
		l.mu.Unlock()
		if pc == nil {
			continue
		}
		st := mapState(pc.ConnectionState())
		if st == last {
			continue
		}
		last = st
		l.log.Debug("webrtc leg state", "state", st.String())
		if st == StateClosed {
			l.sayClosed() // the remote hung up, or Close is under way
			continue
		}
		if l.onState != nil {
			l.onState(st)
		}
	}
}

// sayClosed reports StateClosed, once.
func (l *Leg) sayClosed() {
	if l.closedSaid.CompareAndSwap(false, true) && l.onState != nil {
		l.onState(StateClosed)
	}
}

func mapState(s webrtc.PeerConnectionState) State {
	switch s {
	case webrtc.PeerConnectionStateConnecting:
		return StateConnecting
	case webrtc.PeerConnectionStateConnected:
		return StateConnected
	case webrtc.PeerConnectionStateDisconnected:
		return StateDisconnected
	case webrtc.PeerConnectionStateFailed:
		return StateFailed
	case webrtc.PeerConnectionStateClosed:
		return StateClosed
	}
	return StateNew
}
