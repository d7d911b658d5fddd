package conference

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-voip/switchboard/events"
)

// checkLiveness looks for members nothing was heard from for
// MemberTimeout, in case their media worker died without a MemberGone:
// a member whose call is no longer in the media role's KV leaves (reason
// gone). It runs until Close.
func (r *Role) checkLiveness() {
	every := min(time.Second, r.cfg.MemberTimeout/4)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case now := <-t.C:
			r.sweep(now)
		}
	}
}

// silent is a member to look up.
type silent struct {
	pt *partition
	c  *conference
	m  *member
}

// sweep does one round: find the silent members under the locks, look
// their calls up without them, then remove the gone ones under the
// partition's lock if nothing changed meanwhile.
func (r *Role) sweep(now time.Time) {
	var found []silent
	r.mu.Lock()
	parts := make([]*partition, 0, len(r.parts))
	for _, pt := range r.parts {
		parts = append(parts, pt)
	}
	r.mu.Unlock()
	for _, pt := range parts {
		pt.mu.Lock()
		for _, c := range pt.confs {
			c.mu.Lock()
			for _, m := range c.order {
				if now.Sub(m.heard) >= r.cfg.MemberTimeout {
					found = append(found, silent{pt, c, m})
				}
			}
			c.mu.Unlock()
		}
		pt.mu.Unlock()
	}
	for _, s := range found {
		select {
		case <-r.stop:
			return
		default:
		}
		live, err := r.callExists(s.m.callID)
		if err != nil || live {
			if err != nil {
				r.met.errors.WithLabelValues(errLiveness).Inc()
				r.log.Debug("member's call not looked up", "conference", s.c.name, "call_id", s.m.callID, "err", err)
			}
			// Alive (on hold, or a silent media worker), or no verdict:
			// ask again after another MemberTimeout.
			s.c.mu.Lock()
			s.m.heard = now
			s.c.mu.Unlock()
			continue
		}
		s.pt.mu.Lock()
		if !s.pt.released && s.pt.confs[s.c.name] == s.c {
			s.c.mu.Lock()
			still := s.c.members[s.m.token] == s.m && !s.m.heard.After(now)
			s.c.mu.Unlock()
			if still {
				r.log.Info("member's call is gone", "conference", s.c.name, "call_id", s.m.callID)
				r.leave(s.pt, s.c, s.m, events.LeftGone, false, false)
			}
		}
		s.pt.mu.Unlock()
	}
}

// callExists tells whether the media role has the call (its KV entry). The
// bucket is the media role's: it is opened once it exists; before that
// there is no verdict.
func (r *Role) callExists(callID string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r.mu.Lock()
	kv := r.calls
	r.mu.Unlock()
	if kv == nil {
		var err error
		if kv, err = r.js.KeyValue(ctx, events.BucketCalls); err != nil {
			return false, err
		}
		r.mu.Lock()
		r.calls = kv
		r.mu.Unlock()
	}
	_, err := kv.Get(ctx, events.CallKey(events.Partition(callID, r.cfg.Partitions), callID))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}
