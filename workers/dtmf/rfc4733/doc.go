// Package rfc4733 reads and writes DTMF as RTP telephone-events (RFC 4733,
// which obsoletes RFC 2833): the 4-byte event payload, a receive state
// machine that turns a stream of event packets into one Started and one
// Ended per key press, and a generator of the packet sequence for sending
// digits.
//
// Nothing here touches a socket or a clock: the media worker demultiplexes
// the telephone-event payload type, hands each packet to a Receiver with
// its arrival time, calls Expire on its own ticker, and sends the Steps of
// a Generate at the times they name.
//
// The receiver never relies on the marker bit: a new event is a new RTP
// timestamp (RFC 4733 §2.5.1.3, §2.5.2.1), so a lost first packet, a sender
// that never sets the marker, a repeated digit and the three redundant end
// packets (§2.5.1.4) all come out as exactly one digit per press.
package rfc4733
