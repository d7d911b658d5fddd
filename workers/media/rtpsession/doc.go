// Package rtpsession is the RTP/RTCP session of one call leg in the media
// worker: an even/odd UDP port pair (RFC 3550 §11), our outgoing stream
// (RFC 3550 §5.1), reception statistics (RFC 3550 A.1, A.3, A.8), periodic
// compound RTCP reports (RFC 3550 §6) and symmetric RTP latching (RFC 4961,
// "comedia") for phones behind NAT.
//
// # Goroutines and buffers
//
// A Session runs three goroutines: one reading the RTP socket, one reading
// the RTCP socket and one sending reports. Config.OnPacket runs on the RTP
// reader with a packet whose payload points into the reader's buffer: it is
// valid only during the call. Echo calls WriteSample of the same session
// from OnPacket; a bridge calls WriteSample of the other leg. Neither
// allocates in steady state: the receive path parses into a reused
// rtp.Packet and the send path builds the packet in a per-session buffer
// (see the benchmarks). Close stops and waits for all three goroutines.
//
// # Latching (Config.Latch)
//
// A phone behind NAT advertises an address in SDP that cannot be reached;
// RFC 4961 symmetric RTP lets us send to where its packets come from
// instead. The rule, applied to every well-formed RTP packet:
//
//   - Until latched, every packet is accepted (audio flows at once) and the
//     send address is the SDP one. Once two consecutive packets come from
//     one address with one SSRC, the session latches: it sends RTP to that
//     address and RTCP to the next port, unless an RTCP packet whose sender
//     is that SSRC has shown where RTCP really comes from, or the source is
//     the SDP address itself, whose a=rtcp (RFC 3605) is then kept.
//   - Once latched, packets from any other address are dropped and counted
//     (Stats.Ignored), so a random sender cannot hijack the stream. Only if
//     the latched source has been silent for more than a second may another
//     one take over, after five consecutive packets with one SSRC: a NAT
//     that re-bound, or the far side of a transfer. A sender that keeps
//     spraying packets can still take a stream over during a pause longer
//     than a second (hold, silence suppression); only SRTP prevents that.
//   - SetRemote with a different RTP address (a re-INVITE that moved the
//     media) forgets the latch; with the same address the latch is kept.
//
// Every latch, onto the SDP address or another one, counts in
// Stats.Latches. Without Latch the session sends to the SDP address and
// accepts packets from any source, as for a trusted trunk or SBC.
//
// # Receive validation
//
// Datagrams that are not RTP version 2, are shorter than their header, have
// a CSRC list, extension or padding that does not fit (the checks of
// RFC 3550 A.1 and pion's Unmarshal) are counted in Stats.Malformed and
// dropped. A datagram on the RTP port whose second octet is 200-204 is RTCP
// (RFC 5761 §4 multiplexing tolerance, possible because RFC 3551 reserves
// payload types 72-76). Payload types are not filtered: OnPacket decides.
// A packet with a large sequence jump is dropped until the next one
// confirms the jump, and then the sequence restarts (RFC 3550 A.1); the
// probation of new sources is left to the latch. A new SSRC starts new
// reception statistics (RFC 3550 §8.2).
//
// # RTCP
//
// Every interval (Config.RTCPInterval, ±50 % per RFC 3550 §6.2) the session
// sends an SR if it sent RTP since its previous report, else an RR, with a
// report block about the remote source, followed by SDES CNAME (a random
// one per session, RFC 7022) as RFC 3550 §6.1 requires; Close adds a BYE.
// Incoming SR, RR and BYE are parsed with pion/rtcp; reports about our
// SSRC give the peer's view of our stream and the round-trip time.
//
// # Metrics
//
// Per-call figures are in Stats. Process-wide totals go to an optional
// Counters of plain atomics, which the worker exports however it likes:
// this package does not depend on a metrics library.
package rtpsession
