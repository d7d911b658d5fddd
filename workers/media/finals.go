package media

import (
	"sync"
	"time"
)

// finals keeps the final responses the role sent on edges' server
// transactions for a while, by transaction id, so that a request an edge
// hands over again (it got no final response: a NATS server died with the
// response in flight, and core NATS does not redeliver) is answered with
// the same response instead of being executed twice — a second BYE would
// get 481. It is what a UAS transaction does with a retransmission (RFC
// 3261 §17.2.2), across the NATS hop. Transaction ids are unique per edge
// and carry the edge's id.
type finals struct {
	mu   sync.Mutex
	byTx map[string]finalResponse
	ttl  time.Duration
	next time.Time // the next sweep of expired entries
}

type finalResponse struct {
	data []byte
	at   time.Time
}

// finalsTTL is Timer J (64*T1): how long a non-INVITE server transaction
// absorbs retransmissions.
const finalsTTL = 32 * time.Second

func newFinals() *finals { return &finals{byTx: map[string]finalResponse{}, ttl: finalsTTL} }

func (f *finals) put(tx string, data []byte) {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byTx[tx] = finalResponse{data: data, at: now}
	if now.After(f.next) {
		for k, v := range f.byTx {
			if now.Sub(v.at) > f.ttl {
				delete(f.byTx, k)
			}
		}
		f.next = now.Add(f.ttl / 4)
	}
}

func (f *finals) get(tx string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.byTx[tx]
	if !ok || time.Since(v.at) > f.ttl {
		return nil, false
	}
	return v.data, true
}
