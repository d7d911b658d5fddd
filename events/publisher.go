package events

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publisher makes event publication confirmed: every event goes to the
// stream as a JetStream publish, and one the stream did not acknowledge
// (its leader was being elected after a NATS server died, the client was
// reconnecting) is published again until it is, for up to RetryFor. A
// plain core publish, as Publish does without a Publisher, is lost in
// those seconds. Retries reuse the event id as Nats-Msg-Id, so the stream
// stores each event once; core subscribers may see a retried event twice
// and de-duplicate on its id, as the envelope says.
//
// Events are sent in batches as they come (asynchronous publishes, acks
// awaited per batch), so publishing never waits for the stream: Publish
// only queues. When the queue is full (the stream has been unreachable for
// long), events are published the plain way and counted as unconfirmed.
type Publisher struct {
	js       jetstream.JetStream
	nc       *nats.Conn
	q        chan *nats.Msg
	retryFor time.Duration
	stopBy   atomic.Int64 // unix ns after which a closing publisher gives up retrying
	stop     chan struct{}
	wg       sync.WaitGroup

	// Confirmed, Retried and Unconfirmed count events stored, publishes
	// repeated, and events given up on or sent unconfirmed.
	Confirmed, Retried, Unconfirmed atomic.Uint64
}

// PublisherQueue is how many events may wait for the stream.
const PublisherQueue = 1 << 16

var (
	pubMu      sync.RWMutex
	publishers = map[*nats.Conn]*Publisher{}
)

// NewPublisher starts confirming the events published on nc through
// Publish, retrying each for up to retryFor. Close stops it.
func NewPublisher(nc *nats.Conn, retryFor time.Duration) (*Publisher, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	p := &Publisher{js: js, nc: nc, q: make(chan *nats.Msg, PublisherQueue), retryFor: retryFor, stop: make(chan struct{})}
	p.wg.Go(p.run)
	pubMu.Lock()
	publishers[nc] = p
	pubMu.Unlock()
	return p, nil
}

// Close stops taking events (Publish goes back to plain publishes), sends
// what is queued, waiting up to wait for the stream, and returns when the
// publisher's goroutine has ended.
func (p *Publisher) Close(wait time.Duration) {
	pubMu.Lock()
	if publishers[p.nc] == p {
		delete(publishers, p.nc)
	}
	pubMu.Unlock()
	select {
	case <-p.stop:
	default:
		p.stopBy.Store(time.Now().Add(wait).UnixNano())
		close(p.stop)
	}
	p.wg.Wait()
}

func publisherOf(nc *nats.Conn) *Publisher {
	pubMu.RLock()
	defer pubMu.RUnlock()
	return publishers[nc]
}

// enqueue queues m; false when the queue is full.
func (p *Publisher) enqueue(m *nats.Msg) bool {
	select {
	case p.q <- m:
		return true
	default:
		return false
	}
}

// maxBatch bounds the publishes in flight at once.
const maxBatch = 512

func (p *Publisher) run() {
	batch := make([]*nats.Msg, 0, maxBatch)
	for {
		select {
		case m := <-p.q:
			batch = append(batch[:0], m)
		case <-p.stop:
			// Send what is left, then end.
			batch = batch[:0]
			for len(p.q) > 0 && len(batch) < cap(batch) {
				batch = append(batch, <-p.q)
			}
			if len(batch) == 0 {
				return
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case m := <-p.q:
				batch = append(batch, m)
			default:
				break fill
			}
		}
		p.confirm(batch)
		clear(batch)
	}
}

// expired reports whether retrying must stop: past deadline, or past the
// time a Close allowed.
func (p *Publisher) expired(deadline time.Time) bool {
	now := time.Now()
	by := p.stopBy.Load()
	return now.After(deadline) || by != 0 && now.UnixNano() > by
}

// confirm publishes batch and republishes, in order, whatever the stream
// did not acknowledge, until all are stored or retryFor has passed.
func (p *Publisher) confirm(batch []*nats.Msg) {
	deadline := time.Now().Add(p.retryFor)
	pending := batch
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		futs := make([]jetstream.PubAckFuture, len(pending))
		for i, m := range pending {
			f, err := p.js.PublishMsgAsync(m)
			if err == nil {
				futs[i] = f
			}
		}
		var failed []*nats.Msg
		// Closed, not sent to: every future still waiting when it fires
		// must see it. (A time.After channel fires once; a second future
		// whose ack never comes — its publish went down with a NATS
		// server — then blocked the publisher for good, and with it every
		// later event.)
		timeout := make(chan struct{})
		t := time.AfterFunc(5*time.Second, func() { close(timeout) })
		for i, f := range futs {
			if f == nil {
				failed = append(failed, pending[i])
				continue
			}
			select {
			case <-f.Ok():
				p.Confirmed.Add(1)
			case <-f.Err():
				failed = append(failed, pending[i])
			case <-timeout:
				failed = append(failed, pending[i])
			}
		}
		t.Stop()
		if len(failed) == 0 {
			return
		}
		if p.expired(deadline) {
			p.Unconfirmed.Add(uint64(len(failed)))
			return
		}
		p.Retried.Add(uint64(len(failed)))
		time.Sleep(wait)
		pending = failed
		// A message is published once per attempt; a fresh copy keeps
		// nats.go from complaining about a reused reply subject.
		for i, m := range pending {
			c := nats.NewMsg(m.Subject)
			c.Data, c.Header = m.Data, m.Header
			pending[i] = c
		}
	}
}
