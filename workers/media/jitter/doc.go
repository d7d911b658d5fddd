// Package jitter is the adaptive jitter buffer of the media worker's receive
// path: it takes RTP packets as they arrive (late, reordered, duplicated,
// lost, bunched up) and gives the leg's playout clock one frame per tick,
// in order, with the status the decoder needs: Ok (decode), Lost (conceal:
// Opus FEC from the next packet, else PLC; G.711 repeat and fade) or Empty
// (nothing due: filling, silence, underrun).
//
// pion/interceptor's jitterbuffer reorders by sequence number but does not
// adapt its delay, and knows neither silence nor time; this one does.
//
// # Time
//
// Push and Pop take the current time as an argument and the buffer never
// reads a clock, so tests drive it through scripted scenarios, exactly and
// without sleeping. Internally everything is in RTP timestamp units
// (RFC 3550 §5.1); sequence numbers and timestamps are extended with serial
// arithmetic (RFC 3550 A.1), so wraparound is invisible.
//
// # Delay
//
// A packet's relative delay is its transit time (arrival minus timestamp,
// RFC 3550 §6.4.1) minus the least transit of the last 2 s: how much later
// than the fastest recent packet it arrived (WebRTC NetEq's relative
// arrival delay). The playout delay of a frame is measured the same way, so
// a packet is in time if its relative delay is at most the playout delay.
// The target delay is the larger of
//
//   - the 95th percentile of the per-500 ms maxima of the relative delay,
//     in a histogram that forgets with a time constant of about 16 s (Moon,
//     Kurose and Towsley 1998; NetEq's UnderrunOptimizer), and
//   - a spike level: when two packets within 10 s exceed that estimate by
//     more than a frame (a stall followed by a burst), the target jumps to
//     the spike's height, holds 5 s, then halves every 2 s (Ramjee, Kurose,
//     Towsley and Schulzrinne, INFOCOM 1994, spike detection),
//
// clamped to [MinDelay, MaxDelay]. The RFC 3550 A.8 interarrival jitter is
// kept for Stats and RTCP, not for the target.
//
// # Playout
//
// Pop plays the packet at the cursor; a gap with a later packet held is
// Lost; an empty buffer is Empty and the cursor waits (the delay grows by
// a frame per tick, up to MaxDelay, after which the cursor follows the
// clock and stragglers are dropped as late). A talkspurt start (RFC 3551
// §4.1: a timestamp gap with contiguous sequence numbers, usually with the
// marker bit) waits until its packet has the target delay, which adapts the
// delay in the silence without touching speech (as Ramjee et al. do). In
// continuous speech the buffer inserts one Empty frame when the delay is
// below target (at most every 60 ms), and skips one frame per second while
// it has been more than a frame above target for a second. A frame that
// would play more than a frame past MaxDelay is skipped at once.
//
// # Memory
//
// The ring of MaxPackets slots and the payload buffers are allocated in New.
// Push copies the payload into its slot's buffer; Pop swaps that buffer
// with the one it returned last time. Neither allocates in steady state.
package jitter
