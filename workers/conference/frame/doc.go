// Package frame is the wire format of conference audio over NATS: one
// message per member per 20 ms, from a member's media worker to the mixer
// (sb.conf.<conf>.in.<member>: PCM at the conference rate) and back
// (sb.conf.<conf>.out.<member>: the encoded payload to send to the
// member).
//
// A message is a 20-byte header and a payload:
//
//	offset size field
//	0      1    version: 1
//	1      1    codec: 0 PCM (s16le), 1 PCMU, 2 PCMA, 3 Opus
//	2      1    flags: bit 0 muted, 1 silence, 2 talking, 3 discontinuity; others 0
//	3      1    level: −dBFS RMS of the frame, 0–127 (127: silence or unknown)
//	4      2    rate in Hz: 8000, 16000 or 48000 (PCMU, PCMA: 8000)
//	6      2    samples: the frame's duration at rate (1 to 120 ms)
//	8      4    sequence number, +1 per frame of the stream
//	12     8    timestamp: capture time of the first sample, in samples at rate
//	20     …    payload: PCM: samples × 2 bytes, little-endian int16;
//	            PCMU, PCMA: samples bytes; Opus: one packet, 1–4000 bytes
//
// Header integers are big-endian (network order); PCM samples are
// little-endian because that is what every producer and consumer here has
// in memory. Every field is checked on the way in and on the way out:
// Unmarshal never accepts what Marshal would not produce, so a garbled or
// future-version message is an error, never a wrong sound. The timestamp
// is 64 bits so that it does not wrap in a long conference (32 bits wrap
// after 25 hours at 48 kHz); a receiver finds gaps by sequence number and
// aligns streams by timestamp.
//
// docs/conference-mixer.md has an example in hex.
package frame
