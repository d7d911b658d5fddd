package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/dtmf/feed"
	"github.com/switchboard-voip/switchboard/workers/media/rtpsession"
	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

// Call states.
const (
	StateRinging  = "ringing"  // inbound INVITE received, not answered
	StateDialing  = "dialing"  // outbound INVITE sent, no final response
	StateAnswered = "answered" // 2xx sent or received
	StateEnded    = "ended"
)

// Call is one leg: a SIP dialog and its RTP. The exported fields are what
// is written to KV (everything a new owner needs to continue the dialog).
type Call struct {
	ID        string `json:"call_id"`
	Direction string `json:"direction"`
	State     string `json:"state"`
	Route     string `json:"route,omitempty"`

	// Dialog (RFC 3261 §12).
	LocalTag     string   `json:"local_tag"`
	RemoteTag    string   `json:"remote_tag,omitempty"`
	LocalURI     string   `json:"local_uri"`  // our From (UAC) or To (UAS) address, without tag
	RemoteURI    string   `json:"remote_uri"` // theirs
	RemoteTarget string   `json:"remote_target,omitempty"`
	RouteSet     []string `json:"route_set,omitempty"`
	LocalCSeq    uint32   `json:"local_cseq"`
	RemoteCSeq   uint32   `json:"remote_cseq"`
	Edge         string   `json:"edge,omitempty"`
	Transport    string   `json:"transport,omitempty"`
	Source       string   `json:"source,omitempty"` // where the far end sends from (NAT)

	// Media.
	LocalRTP   string `json:"local_rtp,omitempty"`
	RemoteRTP  string `json:"remote_rtp,omitempty"`
	Codec      string `json:"codec,omitempty"` // e.g. PCMU/8000
	CodecPT    uint8  `json:"codec_pt"`
	SDPVersion uint64 `json:"sdp_version"`
	SDPSession uint64 `json:"sdp_session"`
	HeldRemote bool   `json:"held_remote,omitempty"`
	HeldApp    bool   `json:"held_app,omitempty"`
	Peer       string `json:"peer,omitempty"`      // bridged call
	BridgeTo   string `json:"bridge_to,omitempty"` // bridge once answered (dial)

	// Conference membership: the conference its media is attached to, at
	// the PCM rate its mixer wants; Room is what a conf-<room> call asked
	// to join.
	Conference     string `json:"conference,omitempty"`
	ConferenceRate int    `json:"conference_rate,omitempty"`
	Room           string `json:"room,omitempty"`

	Created  time.Time `json:"created"`
	Answered time.Time `json:"answered,omitzero"`
	Node     string    `json:"node,omitempty"` // the owner that saved it last

	// Not persisted.
	restored   bool      // loaded from KV by a takeover; no media on this node
	restoredAt time.Time // when
	fromNode   string    // the owner it was taken over from
	migrating  int       // re-INVITEs sent to move its media here (0: none)
	migrateAt  time.Time // when the last one was sent, or its edge last said it was alive
	// migrateSent is when the current move re-INVITE (CSeq migrateSeq, 0
	// while waiting to try again) was sent; migrateUnsent: no edge took it;
	// migrateProbing: its edge is being asked whether it is alive.
	migrateSent    time.Time
	migrateSeq     uint32
	migrateUnsent  bool
	migrateProbing bool
	inviteReq      *sip.Request             // inbound INVITE being answered, or our outbound INVITE
	inviteIn       inbound                  // how the inbound INVITE arrived (edge, tx)
	offer          *sdp.Session             // the remote offer awaiting our answer
	ackPending     bool                     // 2xx sent, ACK not yet seen
	sess           atomic.Pointer[mediaBox] // read by RTP goroutines (a peer's onAudio)
	scratch        []byte                   // PCMU<->PCMA buffer of this call's RTP goroutine
	play           *playout                 // the role's playout clock
	leg            atomic.Pointer[leg]      // decoded receive path (G.711<->Opus bridges)
	local          sdp.Codec
	forward        atomic.Pointer[Call]        // where received audio goes (self = echo)
	member         atomic.Pointer[member]      // the conference it goes to instead (member.go)
	joining        bool                        // a conference_join is under way (conference.go)
	waitBrowser    bool                        // its WebRTC peer could not move; waiting for the browser (migrate.go)
	format         atomic.Pointer[audioFormat] // the negotiated codec, for the RTP goroutines
	timers         []*time.Timer
	pending        map[uint32]*pendingReply // commands waiting for a response to our request, by CSeq
	ringing        bool
	ended          bool
	lastStats      time.Time
	hangupBy       string
	cancelling     bool
	feed           *dtmfFeed // the role's, set with the session
	dtmf           dtmfState
	inbandDef      bool // the node's dtmf_inband
}

// key is the call's KV key.
func key(p int, callID string) string { return events.CallKey(p, callID) }

// save writes the call's state to KV (every fact needed to continue it).
func (r *Role) save(pt *partition, c *Call) {
	c.Node = r.cfg.NodeID
	b, _ := json.Marshal(c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := r.kv.Put(ctx, key(pt.p, c.ID), b); err != nil {
		r.log.Warn("call state not saved", "call_id", c.ID, "err", err)
	}
}

func (r *Role) forget(pt *partition, c *Call) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.kv.Purge(ctx, key(pt.p, c.ID)); err != nil {
		r.log.Debug("call state not removed", "call_id", c.ID, "err", err)
	}
}

func (r *Role) loadCalls(ctx context.Context, p int) ([]*Call, error) {
	lister, err := r.kv.ListKeysFiltered(ctx, strconv.Itoa(p)+".>")
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("list calls of partition %d: %w", p, err)
	}
	var out []*Call
	for k := range lister.Keys() {
		e, err := r.kv.Get(ctx, k)
		if err != nil {
			continue
		}
		c := &Call{}
		if json.Unmarshal(e.Value(), c) == nil && c.State != StateEnded {
			out = append(out, c)
		}
	}
	return out, nil
}

// after runs f under the partition lock after d, unless the call ended.
func (r *Role) after(pt *partition, c *Call, d time.Duration, f func()) {
	c.timers = append(c.timers, time.AfterFunc(d, func() {
		pt.mu.Lock()
		defer pt.mu.Unlock()
		if c.ended || pt.calls[c.ID] != c {
			return
		}
		if pt.suspended {
			r.after(pt, c, time.Second, f) // not ours to act on until resumed
			return
		}
		f()
	}))
}

func (c *Call) stopTimers() {
	for _, t := range c.timers {
		t.Stop()
	}
	c.timers = nil
}

func (c *Call) stopMedia() {
	c.stopDTMF()
	c.stopMember()
	c.forward.Store(nil)
	if s := c.sess.Swap(nil); s != nil {
		_ = s.Close() // waits for the RTP goroutine: no new leg after this
	}
	if l := c.leg.Load(); l != nil {
		l.detach(c.play)
	}
}

// newSession binds the call's RTP ports. Received audio goes wherever
// c.forward points: back to the sender (echo), to a bridged peer, or nowhere.
func (r *Role) newSession(c *Call, clockRate uint32) error {
	c.play, c.feed, c.inbandDef = r.play, r.feed, r.cfg.DTMFInband // before the RTP goroutine starts
	s, err := rtpsession.New(rtpsession.Config{
		Ports: r.ports, LocalIP: r.cfg.MediaIP, ClockRate: clockRate, PayloadType: 0,
		Latch: true, Log: r.log, Counters: r.met.counters,
		OnPacket: func(pkt *rtpPacket) { c.onPacket(pkt) },
	})
	if err != nil {
		return err
	}
	c.sess.Store(&mediaBox{s})
	c.LocalRTP = s.LocalAddr().String()
	return nil
}

// end finishes a call: stops media and timers, publishes call.completed,
// removes it from KV, and ends its bridged peer too.
func (r *Role) end(pt *partition, c *Call, status string, code int, reason, by string) {
	if c.ended {
		return
	}
	c.ended = true
	c.State = StateEnded
	c.stopTimers()
	r.publishStats(pt, c, true)
	c.stopMedia()
	if c.Conference != "" {
		r.memberGone(c, events.GoneHangup)
	}
	r.feed.push(c.ID, feed.KindEnd, feed.AppendEnd(nil, c.ID, time.Now()))
	for cseq, p := range c.pending {
		p.reply(events.CodeNotFound, "call ended")
		delete(c.pending, cseq)
	}
	dur := 0.0
	if !c.Answered.IsZero() {
		dur = time.Since(c.Answered).Round(time.Millisecond).Seconds()
	}
	r.publish(pt, c, &events.CallCompleted{
		Direction: c.Direction, Status: status, SIPCode: code, Reason: reason, Duration: dur, HangupBy: by,
	})
	r.met.ended.WithLabelValues(status).Inc()
	r.met.calls.WithLabelValues(c.Direction).Dec()
	delete(pt.calls, c.ID)
	r.forget(pt, c)
	if c.Peer != "" {
		if peer := pt.calls[c.Peer]; peer != nil {
			peer.Peer = ""
			peer.forward.Store(nil)
			r.publish(pt, peer, &events.CallUnbridged{PeerCallID: c.ID})
			r.hangup(pt, peer, events.ByPeer)
		}
	}
}

// statusOf maps a final failure response to a call status (Twilio's names).
func statusOf(code int) string {
	switch code {
	case 486, 600:
		return events.StatusBusy
	case 408, 480, 487:
		return events.StatusNoAnswer
	default:
		return events.StatusFailed
	}
}

func codecName(c sdp.Codec) string {
	return c.Name + "/" + strconv.FormatUint(uint64(c.Rate), 10)
}
