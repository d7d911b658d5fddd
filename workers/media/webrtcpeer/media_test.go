package webrtcpeer

import (
	"time"

	"github.com/switchboard-voip/switchboard/workers/media/rtpsession"
)

// media is the interface of the package documentation: what the media
// role holds of a call's media, whichever kind of leg it is.
type media interface {
	WriteSample(payload []byte, samples uint32, marker bool) error
	WriteRTP(pt uint8, payload []byte, samples uint32, marker bool) error
	BeginEvent() uint32
	WriteAt(pt uint8, payload []byte, ts uint32, marker bool) error
	EndEvent(samples uint32)
	Skip(samples uint32)
	Timestamp() uint32
	SSRC() uint32
	LastActivity() time.Time
	Stats() rtpsession.Stats
	Close() error
}

// Both kinds of leg satisfy it.
var (
	_ media = (*Leg)(nil)
	_ media = (*rtpsession.Session)(nil)
)
