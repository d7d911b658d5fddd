// Package webrtcpeer is the media worker's WebRTC call leg, built on
// github.com/pion/webrtc/v4: a browser's SDP offer in, our answer out,
// then audio both ways over ICE and DTLS-SRTP (RFC 8827, RFC 8834) in the
// same terms as a SIP leg's RTP session, so that the media role bridges,
// mixes, records and detects DTMF on either without knowing which it has.
//
// # Engine and legs
//
// New builds one Engine per worker from a Config: the audio codecs (Opus
// 48000/2, PCMU, PCMA and telephone-event at 8000 and 48000 Hz), the
// networks ICE may use (IPs, Interfaces, a UDP port range), the public
// addresses of a 1:1 NAT, STUN and TURN servers. Engine.NewLeg makes a leg
// and Leg.Answer answers an offer:
//
//	leg := engine.NewLeg(webrtcpeer.LegConfig{OnPacket: call.onAudio, OnState: call.onState})
//	answer, err := leg.Answer(ctx, offer) // ErrBadOffer → 400, ErrNotAcceptable → 488
//	...
//	leg.Close()
//
// Answer does not trickle: it waits for ICE gathering to complete (bounded
// by Config.GatherTimeout) and returns an answer with every candidate, as
// WHIP (RFC 9725 §4.3) expects of a 201 response. It answers with exactly
// one audio codec, the offer's first that the engine supports (RFC 3264
// §6.1), plus telephone-event at that codec's clock rate if offered
// (RFC 4733 §7.1.1); Negotiated tells which, with the offer's payload
// type numbers, which the answer keeps for both directions.
//
// # The interface the media role holds
//
// A call's media is one of these two, behind one small interface that
// both *rtpsession.Session and *Leg satisfy:
//
//	type Media interface {
//		WriteSample(payload []byte, samples uint32, marker bool) error
//		WriteRTP(pt uint8, payload []byte, samples uint32, marker bool) error
//		BeginEvent() uint32
//		WriteAt(pt uint8, payload []byte, ts uint32, marker bool) error
//		EndEvent(samples uint32)
//		Skip(samples uint32)
//		Timestamp() uint32
//		SSRC() uint32
//		LastActivity() time.Time
//		Stats() rtpsession.Stats
//		Close() error
//	}
//
// Received packets arrive through a callback given at construction in
// both (rtpsession.Config.OnPacket, LegConfig.OnPacket): one goroutine
// per leg, a packet valid only during the call. What stays SIP-only
// (SetRemote, LocalAddr, SetPayloadType, SetClockRate: a re-INVITE) or
// WebRTC-only (Answer, Negotiated, State, OnState) is used by the code
// that set the leg up, which knows its kind.
//
// # Receiving
//
// The remote audio track is read on one goroutine. pion's TrackRemote
// changes its Codec() to telephone-event when the payload type changes
// (a digit on the audio's SSRC, as browsers send it), so the leg
// demultiplexes by payload type itself: packets of the negotiated audio
// and telephone-event payload types go to OnPacket, anything else is
// counted in Stats.Ignored and dropped.
//
// # Sending
//
// pion's TrackLocalStaticRTP rewrites every packet's payload type to the
// bound codec, which would turn telephone-events into audio. The leg binds
// a TrackLocal of its own instead and keeps the stream's sequence number
// and timestamp itself, exactly like rtpsession: WriteSample for audio,
// WriteRTP/BeginEvent/WriteAt/EndEvent for RFC 4733 events, Skip for
// silence. The SSRC is the one pion gave the sender; it does not change.
// Writes before DTLS-SRTP is up return ErrNotConnected and advance the
// timestamp; after Close they return ErrClosed.
//
// # RTCP and statistics
//
// pion's report interceptors send sender and receiver reports (RFC 3550
// §6.4); its stats interceptor follows received RTP and the remote's
// receiver reports, and Stats turns them into an rtpsession.Stats: packets
// and octets both ways, loss and jitter of the received stream, the
// round-trip time and what the remote reports about our stream. Both RTCP
// directions are read by goroutines of the leg, which is what runs them
// through the interceptors.
//
// # Goroutines
//
// A leg owns four goroutines once answered: the RTP reader (started on the
// goroutine pion hands the remote track to), two RTCP readers and one that
// reports state changes in order (pion calls its state handlers on fresh
// goroutines, in no guaranteed order). Close closes the PeerConnection
// with pion's GracefulClose, waits for all four and reports StateClosed.
//
// # Networks
//
// Only UDP candidates are gathered (IPv4 and IPv6), never on loopback
// unless Config.IPs names a loopback address (tests pass 127.0.0.1 so that
// nothing leaves the machine). Multicast DNS is off: remote ".local"
// candidates are dropped, and the browser's connectivity checks make ICE
// learn its real address as peer-reflexive instead (RFC 8445 §7.3.1.3).
package webrtcpeer
