package media

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/nats-io/nats.go/jetstream"
)

// Idempotency keys. A command that carries an idempotency_key is executed
// once per partition: its reply is kept, and a retry with the same verb
// and key gets that reply again instead of a second execution. The replies
// live in memory and in KV (sb_idempotency), written before the reply is
// sent, so that a retry after the owner died or drained (a 504, a lost
// reply) is answered by the new owner from KV, not executed again.
// Replies with a 5xx code (the command did not run: no ports, a partition
// moving) are not kept: a retry runs it.

const (
	// IdempotencyTTL is how long a key's reply is kept.
	IdempotencyTTL = 10 * time.Minute
	// idemMax bounds the replies each partition keeps in memory.
	idemMax = 4096
	// idemKVTimeout bounds a KV read or write of a reply.
	idemKVTimeout = 2 * time.Second
)

// idemRecord is a reply in KV; Key is the verb/key it answers, checked
// on read (the KV key is a hash of it).
type idemRecord struct {
	Key   string          `json:"key"`
	Reply json.RawMessage `json:"reply"`
}

// idemStore is one partition's replies: memory in front of KV.
type idemStore struct {
	p   int
	mem *idempotency
	kv  jetstream.KeyValue // nil: memory only
	err func(error)        // a KV failure (counted and logged by the role)
}

func newIdemStore(p int, kv jetstream.KeyValue, onErr func(error)) *idemStore {
	return &idemStore{p: p, mem: newIdempotency(idemMax, IdempotencyTTL), kv: kv, err: onErr}
}

func (s *idemStore) kvKey(k string) string {
	return strconv.Itoa(s.p) + "." + strconv.FormatUint(xxhash.Sum64String(k), 16)
}

// get returns the reply kept for k (verb/key), from memory or KV.
func (s *idemStore) get(k string) ([]byte, bool) {
	if b, ok := s.mem.get(k); ok {
		return b, true
	}
	if s.kv == nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), idemKVTimeout)
	defer cancel()
	e, err := s.kv.Get(ctx, s.kvKey(k))
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			s.err(err)
		}
		return nil, false
	}
	var rec idemRecord
	if json.Unmarshal(e.Value(), &rec) != nil || rec.Key != k || time.Since(e.Created()) > IdempotencyTTL {
		return nil, false
	}
	s.mem.put(k, rec.Reply)
	return rec.Reply, true
}

// put keeps reply b of k, unless it is a 5xx.
func (s *idemStore) put(k string, b []byte) {
	var code struct {
		Code int `json:"code"`
	}
	if json.Unmarshal(b, &code) == nil && code.Code >= 500 {
		return
	}
	s.mem.put(k, b)
	if s.kv == nil {
		return
	}
	v, _ := json.Marshal(idemRecord{Key: k, Reply: b})
	ctx, cancel := context.WithTimeout(context.Background(), idemKVTimeout)
	defer cancel()
	if _, err := s.kv.Put(ctx, s.kvKey(k), v); err != nil {
		s.err(err)
	}
}

// idempotency remembers the replies of commands that carried an
// idempotency key, bounded in count and age.
type idempotency struct {
	max   int
	ttl   time.Duration
	order *list.List
	items map[string]*list.Element
}

type idemEntry struct {
	key   string
	reply []byte
	at    time.Time
}

func newIdempotency(max int, ttl time.Duration) *idempotency {
	return &idempotency{max: max, ttl: ttl, order: list.New(), items: map[string]*list.Element{}}
}

func (m *idempotency) get(k string) ([]byte, bool) {
	e := m.items[k]
	if e == nil {
		return nil, false
	}
	ent := e.Value.(*idemEntry)
	if time.Since(ent.at) > m.ttl {
		m.order.Remove(e)
		delete(m.items, k)
		return nil, false
	}
	return ent.reply, true
}

func (m *idempotency) put(k string, b []byte) {
	if e := m.items[k]; e != nil {
		m.order.Remove(e)
	}
	m.items[k] = m.order.PushFront(&idemEntry{key: k, reply: b, at: time.Now()})
	for m.order.Len() > m.max {
		last := m.order.Back()
		m.order.Remove(last)
		delete(m.items, last.Value.(*idemEntry).key)
	}
}
