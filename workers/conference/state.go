package conference

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-voip/switchboard/events"
)

// record is what KV keeps of a conference: everything a new owner needs to
// go on mixing it.
type record struct {
	Name    string         `json:"name"`
	Created time.Time      `json:"created"`
	Started bool           `json:"started"`
	Rate    int            `json:"rate"`
	Node    string         `json:"node,omitempty"` // the owner that saved it last
	Members []memberRecord `json:"members"`
}

// memberRecord is one member in a record.
type memberRecord struct {
	CallID       string    `json:"call_id"`
	Codec        string    `json:"codec"`
	Muted        bool      `json:"muted,omitempty"`
	Deaf         bool      `json:"deaf,omitempty"`
	Moderator    bool      `json:"moderator,omitempty"`
	StartOnEnter bool      `json:"start_on_enter,omitempty"`
	EndOnExit    bool      `json:"end_on_exit,omitempty"`
	Joined       time.Time `json:"joined"`
}

func (c *conference) record() record {
	c.mu.Lock()
	defer c.mu.Unlock()
	rec := record{Name: c.name, Created: c.created, Started: c.started, Rate: c.rate, Node: c.r.cfg.NodeID,
		Members: make([]memberRecord, 0, len(c.order))}
	for _, m := range c.order {
		rec.Members = append(rec.Members, memberRecord{
			CallID: m.callID, Codec: m.codecName, Muted: m.muted, Deaf: m.deaf, Moderator: m.moderator,
			StartOnEnter: m.startOnEnter, EndOnExit: m.endOnExit, Joined: m.joined,
		})
	}
	return rec
}

// save writes a conference's state to KV. A failure is logged and counted:
// the conference goes on, and the next change writes it again.
func (r *Role) save(c *conference) {
	b, _ := json.Marshal(c.record())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := r.kv.Put(ctx, events.ConferenceKey(c.p, c.name), b); err != nil {
		r.met.errors.WithLabelValues(errState).Inc()
		r.log.Warn("conference state not saved", "conference", c.name, "err", err)
	}
}

// forget removes a conference's state from KV.
func (r *Role) forget(p int, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.kv.Purge(ctx, events.ConferenceKey(p, name)); err != nil {
		r.met.errors.WithLabelValues(errState).Inc()
		r.log.Warn("conference state not removed", "conference", name, "err", err)
	}
}

// load reads the conferences of partition p.
func (r *Role) load(ctx context.Context, p int) ([]record, error) {
	lister, err := r.kv.ListKeysFiltered(ctx, strconv.Itoa(p)+".>")
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("list conferences of partition %d: %w", p, err)
	}
	var out []record
	for k := range lister.Keys() {
		e, err := r.kv.Get(ctx, k)
		if err != nil {
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				continue // ended meanwhile
			}
			return nil, fmt.Errorf("read %s: %w", k, err)
		}
		var rec record
		if err := json.Unmarshal(e.Value(), &rec); err != nil || !events.ValidConference(rec.Name) {
			r.met.errors.WithLabelValues(errState).Inc()
			r.log.Warn("ignoring malformed conference state", "key", k, "err", err)
			continue
		}
		out = append(out, rec)
	}
	return out, nil
}

// resume makes a loaded conference live again in pt.
func (r *Role) resume(pt *partition, rec record) (err error) {
	if len(rec.Members) == 0 {
		// Created for a join that never completed (its owner died
		// between the two writes): nobody is in it.
		r.forget(pt.p, rec.Name)
		return nil
	}
	rate := rec.Rate
	if rate == 0 {
		rate = r.cfg.Rate
	}
	c, err := newConference(r, pt.p, rec.Name, rate, rec.Created)
	if err != nil {
		return err
	}
	c.started = rec.Started
	defer func() {
		if err != nil {
			r.met.members.Sub(float64(len(c.members)))
		}
	}()
	now := time.Now()
	for _, mr := range rec.Members {
		fc, ok := parseCodec(mr.Codec)
		if !ok {
			return fmt.Errorf("member %s: codec %q", mr.CallID, mr.Codec)
		}
		m, err := c.newMember(mr.CallID, mr.Codec, fc, now)
		if err != nil {
			return err
		}
		m.muted, m.deaf, m.moderator = mr.Muted, mr.Deaf, mr.Moderator
		m.startOnEnter, m.endOnExit, m.joined = mr.StartOnEnter, mr.EndOnExit, mr.Joined
		if err := c.add(m); err != nil {
			return err
		}
	}
	if err := c.start(); err != nil {
		return err
	}
	pt.confs[c.name] = c
	r.met.conferences.Inc()
	return nil
}
