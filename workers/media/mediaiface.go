package media

import (
	"time"

	"github.com/switchboard-voip/switchboard/workers/media/rtpsession"
	"github.com/switchboard-voip/switchboard/workers/media/webrtcpeer"
)

// Media is what a call holds of its media, whichever kind of leg it is: a
// SIP leg's *rtpsession.Session or a browser's *webrtcpeer.Leg. The
// receive callback is given when either is made; calls that only one kind
// has (SetRemote, Answer…) stay with the code that set the leg up.
type Media interface {
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

// mediaBox lets a Media sit behind an atomic.Pointer (the RTP goroutines
// of a bridge peer read it without the partition lock).
type mediaBox struct{ Media }

// rtp returns the call's SIP RTP session; nil for a WebRTC leg or none.
func (c *Call) rtp() *rtpsession.Session {
	if b := c.sess.Load(); b != nil {
		s, _ := b.Media.(*rtpsession.Session)
		return s
	}
	return nil
}

// Both kinds of leg satisfy it.
var (
	_ Media = (*webrtcpeer.Leg)(nil)
	_ Media = (*rtpsession.Session)(nil)
)
