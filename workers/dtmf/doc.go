// Package dtmf is the dtmf worker role: it turns what media workers forward
// (telephone-event RTP, SIP INFO digits, decoded audio of calls with in-band
// detection on; see package feed) into one event stream per call — a
// dtmf_started and a dtmf event per key press, numbered by seq — and runs
// gather commands on it.
//
// The detectors are the pure packages below (rfc4733, inband, info); this
// package adds the state per call, the clock (Expire and gather timeouts on
// one ticker) and NATS. See docs/dtmf.md and docs/adr/0004-dtmf-role.md.
//
// Concurrency: messages and commands of a partition arrive on the
// runtime's goroutine for it, the ticker on its own; both take the
// partition's mutex.
package dtmf
