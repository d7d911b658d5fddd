package digit

import "errors"

// ErrInvalid is returned for a character or event code that is not one of
// the sixteen DTMF digits.
var ErrInvalid = errors.New("digit: not a DTMF digit")

// Digit is a DTMF key as its character: '0'-'9', '*', '#', 'A'-'D'. The
// zero value is no digit.
type Digit byte

// events maps RFC 4733 §3.2 event codes 0-15 to their keys.
const events = "0123456789*#ABCD"

// FromEvent returns the digit of an RFC 4733 §3.2 event code. Codes 16 and
// up (flash, modem and line tones) are not digits: ok is false.
func FromEvent(code uint8) (d Digit, ok bool) {
	if int(code) >= len(events) {
		return 0, false
	}
	return Digit(events[code]), true
}

// Parse returns the digit written as c; 'a'-'d' are accepted for 'A'-'D'.
func Parse(c byte) (Digit, error) {
	if 'a' <= c && c <= 'd' {
		c -= 'a' - 'A'
	}
	if Digit(c).Valid() {
		return Digit(c), nil
	}
	return 0, ErrInvalid
}

// Valid reports whether d is one of the sixteen digits.
func (d Digit) Valid() bool {
	_, ok := d.eventCode()
	return ok
}

// Event returns d's RFC 4733 §3.2 event code (0-15). It panics if d is not
// Valid: callers hold digits that came from Parse or FromEvent.
func (d Digit) Event() uint8 {
	code, ok := d.eventCode()
	if !ok {
		panic("digit: Event of an invalid digit")
	}
	return code
}

func (d Digit) eventCode() (uint8, bool) {
	switch {
	case '0' <= d && d <= '9':
		return uint8(d - '0'), true
	case d == '*':
		return 10, true
	case d == '#':
		return 11, true
	case 'A' <= d && d <= 'D':
		return uint8(d-'A') + 12, true
	}
	return 0, false
}

// String returns the key as a one-character string, or "?" for an invalid
// digit.
func (d Digit) String() string {
	if !d.Valid() {
		return "?"
	}
	return string(rune(d))
}
