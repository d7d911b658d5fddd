// Package feed is the wire format of what a media worker forwards to the
// dtmf role: telephone-event RTP packets, SIP INFO digits, decoded audio of
// calls with in-band detection on, and the end of a call. Messages go to
// sb.dtmf.p.<p>.<kind> (p = events.Partition(call-id)); the kind is the
// subject's last token, the body a small binary record:
//
//	byte 0      version (1)
//	bytes 1-8   arrival time at the media worker, Unix ns, big-endian
//	bytes 9-10  length n of the Call-ID, big-endian
//	n bytes     Call-ID
//	rest        per kind:
//	  rtp   SSRC u32, sequence u16, timestamp u32, marker u8, clock rate u32, RFC 4733 payload
//	  info  digit (ASCII) u8, duration ms u32 (0: not given)
//	  pcm   8 kHz mono samples, int16 little-endian
//	  end   nothing: the call is over, forget it
//
// Binary rather than JSON: a call sends up to 50 of these a second (pcm),
// and the media worker builds them on its RTP goroutine.
package feed

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/switchboard-voip/switchboard/events"
)

// Kinds, the last token of the subject.
const (
	KindRTP  = "rtp"
	KindInfo = "info"
	KindPCM  = "pcm"
	KindEnd  = "end"
)

const version = 1

const headerSize = 1 + 8 + 2

// ErrMalformed is returned for a record that is too short, has another
// version, or whose Call-ID length overruns it.
var ErrMalformed = errors.New("feed: malformed record")

// Subject is where records of kind for callID go.
func Subject(callID string, partitions int, kind string) string {
	return events.PartitionSubject(events.RoleDTMF, events.Partition(callID, partitions), kind)
}

// RTP is one telephone-event packet.
type RTP struct {
	SSRC      uint32
	Seq       uint16
	Timestamp uint32
	Marker    bool
	ClockRate uint32
	Payload   []byte
}

// Info is one SIP INFO digit.
type Info struct {
	Digit    byte
	Duration time.Duration
}

// Header is what every record starts with.
type Header struct {
	CallID string
	At     time.Time
}

func appendHeader(b []byte, callID string, at time.Time) []byte {
	b = append(b, version)
	b = binary.BigEndian.AppendUint64(b, uint64(at.UnixNano()))
	b = binary.BigEndian.AppendUint16(b, uint16(len(callID)))
	return append(b, callID...)
}

// AppendRTP appends an rtp record to b.
func AppendRTP(b []byte, callID string, at time.Time, p RTP) []byte {
	b = appendHeader(b, callID, at)
	b = binary.BigEndian.AppendUint32(b, p.SSRC)
	b = binary.BigEndian.AppendUint16(b, p.Seq)
	b = binary.BigEndian.AppendUint32(b, p.Timestamp)
	m := byte(0)
	if p.Marker {
		m = 1
	}
	b = append(b, m)
	b = binary.BigEndian.AppendUint32(b, p.ClockRate)
	return append(b, p.Payload...)
}

// AppendInfo appends an info record to b.
func AppendInfo(b []byte, callID string, at time.Time, i Info) []byte {
	b = appendHeader(b, callID, at)
	b = append(b, i.Digit)
	return binary.BigEndian.AppendUint32(b, uint32(i.Duration/time.Millisecond))
}

// AppendPCM appends a pcm record to b.
func AppendPCM(b []byte, callID string, at time.Time, pcm []int16) []byte {
	b = appendHeader(b, callID, at)
	for _, s := range pcm {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return b
}

// AppendEnd appends an end record to b.
func AppendEnd(b []byte, callID string, at time.Time) []byte {
	return appendHeader(b, callID, at)
}

// ParseHeader reads the header and returns the rest of the record.
func ParseHeader(b []byte) (Header, []byte, error) {
	if len(b) < headerSize || b[0] != version {
		return Header{}, nil, ErrMalformed
	}
	n := int(binary.BigEndian.Uint16(b[9:]))
	if n == 0 || len(b) < headerSize+n {
		return Header{}, nil, ErrMalformed
	}
	h := Header{CallID: string(b[headerSize : headerSize+n]), At: time.Unix(0, int64(binary.BigEndian.Uint64(b[1:])))}
	return h, b[headerSize+n:], nil
}

// ParseRTP reads the body of an rtp record; Payload aliases b.
func ParseRTP(b []byte) (RTP, error) {
	if len(b) < 15 {
		return RTP{}, ErrMalformed
	}
	return RTP{
		SSRC: binary.BigEndian.Uint32(b), Seq: binary.BigEndian.Uint16(b[4:]), Timestamp: binary.BigEndian.Uint32(b[6:]),
		Marker: b[10] == 1, ClockRate: binary.BigEndian.Uint32(b[11:]), Payload: b[15:],
	}, nil
}

// ParseInfo reads the body of an info record.
func ParseInfo(b []byte) (Info, error) {
	if len(b) != 5 {
		return Info{}, ErrMalformed
	}
	return Info{Digit: b[0], Duration: time.Duration(binary.BigEndian.Uint32(b[1:])) * time.Millisecond}, nil
}

// ParsePCM appends the samples of a pcm record body to dst.
func ParsePCM(dst []int16, b []byte) ([]int16, error) {
	if len(b)%2 != 0 {
		return dst, ErrMalformed
	}
	for i := 0; i+1 < len(b); i += 2 {
		dst = append(dst, int16(binary.LittleEndian.Uint16(b[i:])))
	}
	return dst, nil
}
