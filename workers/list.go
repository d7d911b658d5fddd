package workers

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// ListMembers reads every heartbeat in the membership bucket, sorted by id.
// Entries are what the nodes last wrote; the bucket's TTL removes the keys
// of nodes that died.
func ListMembers(ctx context.Context, kv jetstream.KeyValue) ([]Member, error) {
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []Member
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue // deleted since listed
		}
		var m Member
		if json.Unmarshal(e.Value(), &m) == nil {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Ownership maps role -> partition -> lease, as stored in the owners bucket.
type Ownership map[string]map[int]Lease

// ListLeases reads every partition lease.
func ListLeases(ctx context.Context, kv jetstream.KeyValue) (Ownership, error) {
	out := Ownership{}
	keys, err := kv.ListKeys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for k := range keys.Keys() {
		role, ps, ok := strings.Cut(k, ".")
		p, perr := strconv.Atoi(ps)
		if !ok || perr != nil {
			continue
		}
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue
		}
		var l Lease
		if json.Unmarshal(e.Value(), &l) != nil {
			continue
		}
		if out[role] == nil {
			out[role] = map[int]Lease{}
		}
		out[role][p] = l
	}
	return out, nil
}
