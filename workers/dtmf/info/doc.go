// Package info reads and writes the bodies of SIP INFO requests that carry
// DTMF, for phones and trunks that send digits neither as RTP events nor
// as tones: application/dtmf-relay ("Signal=5\r\nDuration=160\r\n", the
// de facto format of Cisco and most PBXs) and application/dtmf (the digit
// alone). Neither has an RFC; the parser is lenient about line ends,
// spaces, case and missing fields, and strict about the digit.
//
// The SIP side (answering 200 or 415, the INFO dialog) is the edge's; this
// package only maps bodies to digits and back.
package info
