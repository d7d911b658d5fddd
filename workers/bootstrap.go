package workers

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

// Stores are the JetStream objects the runtime uses.
type Stores struct {
	Nodes  jetstream.KeyValue
	Owners jetstream.KeyValue
	Config jetstream.KeyValue
	Events jetstream.Stream
}

// Bootstrap creates (or updates) the KV buckets and the event stream. Every
// node calls it at start; it is idempotent.
func Bootstrap(ctx context.Context, js jetstream.JetStream, replicas int, nodeTTL, eventRetention time.Duration) (*Stores, error) {
	var s Stores
	var err error
	if s.Nodes, err = events.EnsureKV(ctx, js, jetstream.KeyValueConfig{
		Bucket:      events.BucketNodes,
		Description: "switchboard membership: one heartbeat per live node",
		History:     1,
		TTL:         nodeTTL, // garbage-collects the keys of nodes that died
		Replicas:    replicas,
	}); err != nil {
		return nil, fmt.Errorf("bucket %s: %w", events.BucketNodes, err)
	}
	if s.Owners, err = events.EnsureKV(ctx, js, jetstream.KeyValueConfig{
		Bucket:      events.BucketOwners,
		Description: "switchboard partition leases: <role>.<partition> -> owner",
		History:     1,
		Replicas:    replicas,
	}); err != nil {
		return nil, fmt.Errorf("bucket %s: %w", events.BucketOwners, err)
	}
	if s.Config, err = events.EnsureKV(ctx, js, jetstream.KeyValueConfig{
		Bucket:      events.BucketConfig,
		Description: "switchboard cluster-wide settings",
		History:     5,
		Replicas:    replicas,
	}); err != nil {
		return nil, fmt.Errorf("bucket %s: %w", events.BucketConfig, err)
	}
	if s.Events, err = events.EnsureStream(ctx, js, jetstream.StreamConfig{
		Name:        events.EventStream,
		Description: "every switchboard event, replayable",
		Subjects:    []string{events.EventWildcard},
		MaxAge:      eventRetention,
		Replicas:    replicas,
		Discard:     jetstream.DiscardOld,
		Duplicates:  2 * time.Minute,
	}); err != nil {
		return nil, fmt.Errorf("stream %s: %w", events.EventStream, err)
	}
	return &s, nil
}

// AgreePartitions stores want as the cluster's partition count if none is
// stored yet, and otherwise checks that want matches it.
func AgreePartitions(ctx context.Context, kv jetstream.KeyValue, want int) error {
	val := []byte(strconv.Itoa(want))
	create := func(ctx context.Context) (uint64, error) { return kv.Create(ctx, events.ConfigKeyPartitions, val) }
	if _, err := events.Retry(ctx, create); err == nil {
		return nil
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("store partition count: %w", err)
	}
	have, err := ClusterPartitions(ctx, kv)
	if err != nil {
		return err
	}
	if have != want {
		return fmt.Errorf("%w: cluster has %d, this node %d", ErrPartitionMismatch, have, want)
	}
	return nil
}

// ClusterPartitions reads the partition count stored by the first node.
func ClusterPartitions(ctx context.Context, kv jetstream.KeyValue) (int, error) {
	e, err := events.Retry(ctx, func(ctx context.Context) (jetstream.KeyValueEntry, error) {
		return kv.Get(ctx, events.ConfigKeyPartitions)
	})
	if err != nil {
		return 0, fmt.Errorf("read partition count: %w", err)
	}
	var n int
	if err := json.Unmarshal(e.Value(), &n); err != nil || n < 1 {
		return 0, fmt.Errorf("stored partition count %q is not a positive number", e.Value())
	}
	return n, nil
}
