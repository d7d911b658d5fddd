package dtmf

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers"
	"github.com/switchboard-voip/switchboard/workers/dtmf/feed"
)

// Config of the dtmf role.
type Config struct {
	// NodeID is the node running the role (for events).
	NodeID string
	// Tick is how often lost end packets, in-band silence and gather
	// timeouts are checked. Default 20 ms.
	Tick time.Duration
	// IdleTimeout forgets a call nothing was heard of for this long, in case
	// its end record was lost. Default 4 h.
	IdleTimeout time.Duration
}

// Role is the dtmf worker role.
type Role struct {
	workers.BaseRole
	cfg Config
	nc  *nats.Conn
	js  jetstream.JetStream
	log *slog.Logger
	met *metrics

	mu    sync.Mutex
	parts map[int]*partition

	stop chan struct{}
	wg   sync.WaitGroup // the ticker
}

type metrics struct {
	digits  *prometheus.CounterVec
	errors  *prometheus.CounterVec
	calls   prometheus.Gauge
	latency *prometheus.HistogramVec
}

// partition is the state of one owned partition.
type partition struct {
	p     int
	mu    sync.Mutex
	calls map[string]*call
}

// New builds the dtmf role and starts its ticker; Close stops it.
func New(nc *nats.Conn, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Role, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 20 * time.Millisecond
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 4 * time.Hour
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	r := &Role{
		BaseRole: workers.BaseRole{RoleName: events.RoleDTMF},
		cfg:      cfg, nc: nc, js: js, log: log.With("role", events.RoleDTMF),
		parts: map[int]*partition{}, stop: make(chan struct{}),
		met: &metrics{
			digits: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "sb_dtmf_digits_total", Help: "DTMF key presses published, by source.",
			}, []string{"source"}),
			errors: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "sb_dtmf_errors_total", Help: "Input the dtmf role could not use, by reason.",
			}, []string{"reason"}),
			calls: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "sb_dtmf_calls", Help: "Calls the dtmf role keeps detector state for.",
			}),
			latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Name:    "sb_dtmf_event_latency_seconds",
				Help:    "From the packet's arrival at the media worker to the event's publication, by event (started, ended).",
				Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
			}, []string{"event"}),
		},
	}
	for _, s := range []string{events.DTMFSourceRFC4733, events.DTMFSourceSIPInfo, events.DTMFSourceInband} {
		r.met.digits.WithLabelValues(s)
	}
	if reg != nil {
		reg.MustRegister(r.met.digits, r.met.errors, r.met.calls, r.met.latency)
	}
	r.wg.Go(r.tick)
	return r, nil
}

// Close stops the ticker and waits for it.
func (r *Role) Close() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	r.wg.Wait()
}

func (r *Role) part(p int) *partition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.parts[p]
}

// TakeOver implements workers.Role. Detector state lives only in memory: a
// press in progress when the previous owner died is lost (its end packets
// alone do not make a digit), and seq restarts at 1 (ADR 0004).
func (r *Role) TakeOver(_ context.Context, p int, _ bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.parts[p] = &partition{p: p, calls: map[string]*call{}}
	return nil
}

// Release implements workers.Role: the partition's state is dropped; a
// gather in progress ends without an event (the next owner knows nothing of
// it), so an application's own timer must cover a failover (ADR 0004).
func (r *Role) Release(_ context.Context, p int, _ bool) error {
	r.mu.Lock()
	pt := r.parts[p]
	delete(r.parts, p)
	r.mu.Unlock()
	if pt != nil {
		pt.mu.Lock()
		r.met.calls.Sub(float64(len(pt.calls)))
		pt.calls = nil
		pt.mu.Unlock()
	}
	return nil
}

// HandleMessage implements workers.Role: records from media workers.
func (r *Role) HandleMessage(p int, kind string, msg *nats.Msg) {
	pt := r.part(p)
	if pt == nil {
		return
	}
	h, body, err := feed.ParseHeader(msg.Data)
	if err != nil {
		r.met.errors.WithLabelValues("malformed_record").Inc()
		return
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.calls == nil {
		return
	}
	c := pt.calls[h.CallID]
	if kind == feed.KindEnd {
		if c != nil {
			r.forget(pt, c, time.Now())
		}
		return
	}
	if c == nil {
		c = newCall(h.CallID)
		pt.calls[h.CallID] = c
		r.met.calls.Inc()
	}
	now := time.Now()
	c.last = now
	switch kind {
	case feed.KindRTP:
		r.onRTP(pt, c, h, body, now)
	case feed.KindInfo:
		r.onInfo(pt, c, h, body, now)
	case feed.KindPCM:
		r.onPCM(pt, c, h, body, now)
	default:
		r.met.errors.WithLabelValues("unknown_kind").Inc()
	}
}

// forget drops a call: its presses in progress end (as the RTP stream
// stopped), a gather in progress completes with reason hangup.
func (r *Role) forget(pt *partition, c *call, now time.Time) {
	r.flush(pt, c, now)
	if c.gather != nil {
		r.finishGather(pt, c, events.GatherHangup)
	}
	delete(pt.calls, c.id)
	r.met.calls.Dec()
}

// tick runs Expire on every call with a press in progress, ends gathers
// that timed out and forgets idle calls.
func (r *Role) tick() {
	t := time.NewTicker(r.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case now := <-t.C:
			r.mu.Lock()
			parts := make([]*partition, 0, len(r.parts))
			for _, pt := range r.parts {
				parts = append(parts, pt)
			}
			r.mu.Unlock()
			for _, pt := range parts {
				pt.mu.Lock()
				for _, c := range pt.calls {
					r.expire(pt, c, now)
					if c.gather != nil && !now.Before(c.gather.deadline) {
						r.finishGather(pt, c, events.GatherTimeout)
					}
					if c.gather == nil && now.Sub(c.last) > r.cfg.IdleTimeout {
						r.forget(pt, c, now)
					}
				}
				pt.mu.Unlock()
			}
		}
	}
}

// publish sends a call event.
func (r *Role) publish(pt *partition, callID string, p events.Payload) {
	e := events.New(r.cfg.NodeID, p).WithCall(callID, pt.p)
	if err := events.Publish(r.nc, events.CallEventSubject(callID, p.EventName()), e); err != nil {
		r.log.Debug("event not published", "type", e.Type, "err", err)
	}
}

// callExists tells whether the media role knows the call (its KV entry).
func (r *Role) callExists(p int, callID string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	kv, err := r.js.KeyValue(ctx, events.BucketCalls)
	if err != nil {
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			return false, nil
		}
		return false, err
	}
	_, err = kv.Get(ctx, events.CallKey(p, callID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}
