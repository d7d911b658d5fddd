// Package digit is the vocabulary shared by the three DTMF detectors of the
// dtmf role (RFC 4733 telephone-events, in-band tones, SIP INFO): the
// sixteen keypad digits, their RFC 4733 event codes, and the Started/Ended
// reports a detector hands to the role.
//
// Keeping this in one small package lets rfc4733, inband and info agree on
// what a digit is without importing one another.
package digit
