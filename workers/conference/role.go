package conference

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers"
	"github.com/switchboard-voip/switchboard/workers/media/codec"
)

// Config of the conference role.
type Config struct {
	// NodeID is the node running the role (for events).
	NodeID string
	// Partitions is P: members' calls are found on media partition
	// Partition(call id, P).
	Partitions int
	// Rate is the mixing rate of new conferences, 16000 (default) or
	// 48000. A conference keeps its rate for life, across failovers.
	Rate int
	// Replicas of the conferences bucket.
	Replicas int
	// AttachTimeout bounds a MemberAttach request to a media worker.
	// Default 2 s.
	AttachTimeout time.Duration
	// MemberTimeout is how long a member may send nothing before its call
	// is looked up in the media role's KV (and the member removed, reason
	// gone, if the call is not there). Default 10 s.
	MemberTimeout time.Duration
	// Gate is the level in dBFS from which a member's frame is mixed even
	// when the VAD does not call it talking (which it stops doing for a
	// steady tone after 2-3 s). Default -50.
	Gate float64
	// Opus is the settings of Opus encoders; the zero value takes
	// codec.DefaultOpusConfig at the room's rate (VOIP, complexity 5,
	// in-band FEC).
	Opus codec.OpusConfig
}

func (c *Config) defaults() error {
	if c.Partitions <= 0 {
		c.Partitions = events.DefaultPartitions
	}
	if c.Rate == 0 {
		c.Rate = 16000
	}
	if c.Rate != 16000 && c.Rate != 48000 {
		return fmt.Errorf("conference rate %d: want 16000 or 48000", c.Rate)
	}
	if c.Replicas < 1 {
		c.Replicas = 1
	}
	if c.AttachTimeout <= 0 {
		c.AttachTimeout = 2 * time.Second
	}
	if c.MemberTimeout <= 0 {
		c.MemberTimeout = 10 * time.Second
	}
	if c.Gate == 0 {
		c.Gate = -50
	}
	return nil
}

// Role is the conference worker role.
type Role struct {
	workers.BaseRole
	cfg Config
	nc  *nats.Conn
	js  jetstream.JetStream
	kv  jetstream.KeyValue // BucketConferences
	log *slog.Logger
	met *metrics

	mu    sync.Mutex
	parts map[int]*partition
	calls jetstream.KeyValue // the media role's BucketCalls, once it exists

	stop chan struct{}
	wg   sync.WaitGroup // the liveness checker

	// out publishes an out-frame: nc.Publish (a benchmark measures the
	// encoding without it).
	out func(subject string, data []byte) error
}

var _ workers.Role = (*Role)(nil)

// partition is the state of one owned partition.
type partition struct {
	p        int
	mu       sync.Mutex
	confs    map[string]*conference
	released bool
	// suspended: the node fenced itself; the rooms mix on, but nothing
	// is written to KV and nobody is removed for silence (see Suspend).
	suspended bool
}

// New builds the conference role: it creates the conferences bucket and
// starts the liveness checker; Close stops it.
func New(ctx context.Context, nc *nats.Conn, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Role, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	kv, err := events.EnsureKV(ctx, js, jetstream.KeyValueConfig{
		Bucket: events.BucketConferences, Description: "switchboard conferences: members and their flags",
		History: 1, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", events.BucketConferences, err)
	}
	r := &Role{
		BaseRole: workers.BaseRole{RoleName: events.RoleConference},
		cfg:      cfg, nc: nc, js: js, kv: kv, log: log.With("role", events.RoleConference),
		met: newMetrics(reg), parts: map[int]*partition{}, stop: make(chan struct{}),
	}
	r.out = nc.Publish
	r.wg.Go(r.checkLiveness)
	return r, nil
}

// Close stops the liveness checker and every conference still running
// (without writing KV: Release does that), and waits for them.
func (r *Role) Close() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	r.wg.Wait()
	r.mu.Lock()
	parts := r.parts
	r.parts = map[int]*partition{}
	r.mu.Unlock()
	for _, pt := range parts {
		r.drop(pt, false)
	}
}

func (r *Role) part(p int) *partition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.parts[p]
}

// TakeOver implements workers.Role: it loads the partition's conferences
// from KV and mixes them again. The members' media workers go on
// publishing to the same subjects, so nothing is re-signalled; each
// member's out-stream restarts with Discontinuity.
func (r *Role) TakeOver(ctx context.Context, p int, _ bool) error {
	recs, err := r.load(ctx, p)
	if err != nil {
		return err
	}
	pt := &partition{p: p, confs: map[string]*conference{}}
	for _, rec := range recs {
		if err := r.resume(pt, rec); err != nil {
			r.log.Error("conference not resumed", "conference", rec.Name, "partition", p, "err", err)
			r.met.errors.WithLabelValues(errState).Inc()
		}
	}
	r.mu.Lock()
	old := r.parts[p]
	r.parts[p] = pt
	r.mu.Unlock()
	if old != nil { // not released (a test, or a lost lease noticed late)
		r.drop(old, false)
	}
	return nil
}

// Release implements workers.Role: the partition's conferences stop
// mixing; unless the lease was lost, their state is written once more.
func (r *Role) Release(_ context.Context, p int, lost bool) error {
	r.mu.Lock()
	pt := r.parts[p]
	delete(r.parts, p)
	r.mu.Unlock()
	if pt != nil {
		r.drop(pt, !lost)
	}
	return nil
}

// drop stops a partition's conferences, saving them first if asked.
func (r *Role) drop(pt *partition, save bool) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	pt.released = true
	for _, c := range pt.confs {
		c.stop()
		if save {
			r.save(c)
		}
		c.mu.Lock()
		r.met.members.Sub(float64(len(c.members)))
		c.mu.Unlock()
		r.met.conferences.Dec()
	}
	pt.confs = nil
}

// HandleMessage implements workers.Role: MemberGone from media workers.
func (r *Role) HandleMessage(p int, kind string, msg *nats.Msg) {
	if kind != events.ConferenceKindMember {
		r.met.errors.WithLabelValues(errUnknownKind).Inc()
		return
	}
	var g events.MemberGone
	if err := json.Unmarshal(msg.Data, &g); err != nil || !events.ValidConference(g.Conference) || g.CallID == "" {
		r.met.errors.WithLabelValues(errBadGone).Inc()
		return
	}
	pt := r.part(p)
	if pt == nil {
		return
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.released {
		return
	}
	c := pt.confs[g.Conference]
	if c == nil {
		return // already gone: a detach crossed the media worker's message
	}
	c.mu.Lock()
	m := c.members[events.MemberToken(g.CallID)]
	c.mu.Unlock()
	if m == nil {
		return
	}
	r.leave(pt, c, m, goneReason(g.Reason), false, false)
}

// goneReason turns a MemberGone reason into member_left's.
func goneReason(reason string) string {
	switch reason {
	case events.GoneDetached:
		return events.LeftLeft
	case events.LeftLeft, events.LeftKicked, events.LeftHangup, events.LeftConferenceEnded, events.LeftGone:
		return reason
	}
	return events.LeftHangup
}

// event publishes a conference event; callID is set for member events.
func (r *Role) event(c *conference, callID string, p events.Payload) {
	e := events.New(r.cfg.NodeID, p).WithConference(c.name, c.p)
	e.CallID = callID
	if err := events.Publish(r.nc, events.ConferenceEventSubject(c.name, p.EventName()), e); err != nil {
		r.log.Debug("event not published", "type", e.Type, "err", err)
	}
}
