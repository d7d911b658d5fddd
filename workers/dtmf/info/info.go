package info

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
)

// Content types of DTMF INFO bodies.
const (
	// ContentTypeRelay is "Signal=<key>" and "Duration=<ms>" lines.
	ContentTypeRelay = "application/dtmf-relay"
	// ContentTypeDTMF is the key alone.
	ContentTypeDTMF = "application/dtmf"
)

var (
	// ErrContentType is returned for a body that is not one of the DTMF
	// content types: the edge answers 415.
	ErrContentType = errors.New("info: not a DTMF content type")
	// ErrSyntax is returned for a body that cannot be read as DTMF.
	ErrSyntax = errors.New("info: bad DTMF body")
)

// Signal is one key press carried by an INFO request.
type Signal struct {
	// Digit is the key.
	Digit digit.Digit
	// Duration is how long it was held; zero when the body does not say
	// (application/dtmf never does).
	Duration time.Duration
}

// Parse reads a body by its Content-Type header value (parameters and case
// are ignored).
func Parse(contentType string, body []byte) (Signal, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return Signal{}, fmt.Errorf("%w: %q", ErrContentType, contentType)
	}
	switch mt {
	case ContentTypeRelay:
		return ParseRelay(body)
	case ContentTypeDTMF:
		return ParseDTMF(body)
	}
	return Signal{}, fmt.Errorf("%w: %q", ErrContentType, mt)
}

// ParseRelay reads an application/dtmf-relay body: lines of key=value
// separated by CRLF or LF, keys in any case, spaces anywhere, unknown keys
// ignored. Signal is required; Duration, in milliseconds, is optional.
func ParseRelay(body []byte) (Signal, error) {
	var s Signal
	var haveSignal bool
	for line := range bytes.Lines(body) {
		key, value, ok := strings.Cut(string(line), "=")
		if !ok {
			if strings.TrimSpace(key) == "" {
				continue
			}
			return Signal{}, fmt.Errorf("%w: line %q has no '='", ErrSyntax, line)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case strings.EqualFold(key, "Signal") && !haveSignal:
			d, err := parseKey(value)
			if err != nil {
				return Signal{}, err
			}
			s.Digit, haveSignal = d, true
		case strings.EqualFold(key, "Duration"):
			ms, err := strconv.ParseUint(value, 10, 32)
			if err != nil {
				return Signal{}, fmt.Errorf("%w: Duration %q", ErrSyntax, value)
			}
			s.Duration = time.Duration(ms) * time.Millisecond
		}
	}
	if !haveSignal {
		return Signal{}, fmt.Errorf("%w: no Signal", ErrSyntax)
	}
	return s, nil
}

// ParseDTMF reads an application/dtmf body: the key, with any white space
// around it.
func ParseDTMF(body []byte) (Signal, error) {
	d, err := parseKey(string(bytes.TrimSpace(body)))
	return Signal{Digit: d}, err
}

// parseKey reads a key as its character ("5", "*", "a") or as its RFC 4733
// event code ("10" for "*", "11" for "#"), which some gateways send.
func parseKey(v string) (digit.Digit, error) {
	if len(v) == 1 {
		d, err := digit.Parse(v[0])
		if err != nil {
			return 0, fmt.Errorf("%w: %w: %q", ErrSyntax, err, v)
		}
		return d, nil
	}
	if code, err := strconv.ParseUint(v, 10, 8); err == nil {
		if d, ok := digit.FromEvent(uint8(code)); ok {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%w: %w: %q", ErrSyntax, digit.ErrInvalid, v)
}

// RelayBody returns the application/dtmf-relay body for a key press held
// for dur (rounded down to whole milliseconds), with CRLF line ends.
func RelayBody(d digit.Digit, dur time.Duration) ([]byte, error) {
	if !d.Valid() {
		return nil, fmt.Errorf("%w: %q", digit.ErrInvalid, byte(d))
	}
	if dur < 0 {
		return nil, fmt.Errorf("%w: negative duration %s", ErrSyntax, dur)
	}
	return fmt.Appendf(nil, "Signal=%c\r\nDuration=%d\r\n", byte(d), dur.Milliseconds()), nil
}
