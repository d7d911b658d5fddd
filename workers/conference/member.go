package conference

import (
	"time"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/conference/frame"
	"github.com/switchboard-voip/switchboard/workers/conference/mixer"
	"github.com/switchboard-voip/switchboard/workers/conference/vad"
)

// Queue sizes. A member's frames wait in a queue of queueFrames between
// their arrival and the tick that takes them; at a tick, frames beyond
// keepFrames are dropped (late), so jitter of up to a frame is absorbed
// without letting the latency creep up when the sender's clock runs fast.
const (
	queueFrames = 3
	keepFrames  = 2
)

// member is one member of a conference. The flags are what the commands
// set (and KV keeps); the rest is the mixing state, touched under the
// conference's mutex.
type member struct {
	callID     string
	token      string // MemberToken(callID): the mixer id and subject token
	codecName  string // as the attach reply named it
	codec      frame.Codec
	outSubject string

	muted, deaf, moderator  bool
	startOnEnter, endOnExit bool
	joined                  time.Time

	q       queue
	lastSeq uint32 // of the last frame accepted
	haveSeq bool
	heard   time.Time // when a frame last arrived (liveness)

	vad       *vad.Detector
	talkSince uint64 // tick of talking_started

	enc  *encoder // the member's own encoding, when it speaks
	seq  uint32   // of its next out-frame
	ts   uint64   // timestamp of its next out-frame, at the payload's rate
	sent bool     // an out-frame was sent (the first carries Discontinuity)
}

func (m *member) settings() mixer.Settings {
	return mixer.Settings{Muted: m.muted, Deaf: m.deaf, Group: int(m.codec)}
}

// state is the member as conference_list reports it.
func (m *member) state() events.ConferenceMember {
	return events.ConferenceMember{
		CallID: m.callID, Muted: m.muted, Deaf: m.deaf, Moderator: m.moderator,
		StartOnEnter: m.startOnEnter, EndOnExit: m.endOnExit, Talking: m.vad.Talking(),
		Codec: m.codecName, Joined: m.joined,
	}
}

// queue is a member's frames waiting for a tick: a ring of queueFrames
// PCM buffers, allocated once.
type queue struct {
	pcm   [queueFrames][]int16
	flags [queueFrames]frame.Flags
	head  int // oldest
	n     int
}

func newQueue(samples int) queue {
	var q queue
	for i := range q.pcm {
		q.pcm[i] = make([]int16, samples)
	}
	return q
}

// push copies a frame in; when the queue is full the oldest frame is
// dropped, and push reports it.
func (q *queue) push(pcm []int16, flags frame.Flags) (dropped bool) {
	if q.n == queueFrames {
		q.head = (q.head + 1) % queueFrames
		q.n--
		dropped = true
	}
	i := (q.head + q.n) % queueFrames
	copy(q.pcm[i], pcm)
	q.flags[i] = flags
	q.n++
	return dropped
}

// pop takes the tick's frame: it first drops what is beyond keepFrames
// (late, counted in late), then returns the oldest frame. The samples are
// valid until the next push.
func (q *queue) pop() (pcm []int16, flags frame.Flags, ok bool, late int) {
	for q.n > keepFrames {
		q.head = (q.head + 1) % queueFrames
		q.n--
		late++
	}
	if q.n == 0 {
		return nil, 0, false, late
	}
	i := q.head
	q.head = (q.head + 1) % queueFrames
	q.n--
	return q.pcm[i], q.flags[i], true, late
}

// reset empties the queue (a member coming back after a failover starts
// afresh).
func (q *queue) reset() { q.head, q.n = 0, 0 }
