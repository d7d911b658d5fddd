package sdp

import (
	"fmt"
	"strings"

	psdp "github.com/pion/sdp/v3"
)

// parse turns a body into pion/sdp's description, refusing what pion/sdp
// accepts but a SIP body must not be, and turning every failure, including
// a panic inside pion/sdp, into ErrMalformed.
func parse(b []byte) (*psdp.SessionDescription, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(b), MaxSize)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrMalformed)
	}
	// RFC 4566 §5 ends lines with CRLF and lets parsers accept LF. pion/sdp
	// also takes a bare CR as a line end in some places but not in others,
	// which would let a line mean different things to it and to
	// renameMedia, so a bare CR is refused.
	for i, c := range b {
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			return nil, fmt.Errorf("%w: bare CR at byte %d", ErrMalformed, i)
		}
	}
	text := string(b)
	// pion/sdp reads a=, s= and i= up to a line end and fails with a bare
	// io.EOF when the last line has none, which SIP bodies often omit.
	if text[len(text)-1] != '\n' {
		text += "\r\n"
	}
	text, renamed := renameMedia(text)

	d, err := unmarshal(text)
	if err != nil {
		return nil, err
	}
	// pion/sdp stops without error at the end of the input in any state,
	// so an empty or truncated body parses. The mandatory lines come in a
	// fixed order (RFC 4566 §5), so a t= line proves v=, o= and s= too.
	if len(d.TimeDescriptions) == 0 {
		return nil, fmt.Errorf("%w: no t= line", ErrMalformed)
	}
	for i, n := range renamed {
		if i >= len(d.MediaDescriptions) {
			return nil, fmt.Errorf("%w: m-line %d lost", ErrMalformed, i)
		}
		d.MediaDescriptions[i].MediaName.Media = n.media
		d.MediaDescriptions[i].MediaName.Protos = strings.Split(n.proto, "/")
	}
	return d, nil
}

// pionUnmarshal is pion/sdp's parser, a variable so that a test can make it
// panic.
var pionUnmarshal = (*psdp.SessionDescription).UnmarshalString

// unmarshal calls pion/sdp, recovering from a panic in it: the worker
// parses bodies from anyone on the network and must not die on one.
func unmarshal(text string) (d *psdp.SessionDescription, err error) {
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("%w: parser panic: %v", ErrMalformed, r)
		}
	}()
	d = new(psdp.SessionDescription)
	if err := pionUnmarshal(d, text); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return d, nil
}
