package workers

import (
	"fmt"
	"time"

	"github.com/switchboard-voip/switchboard/events"
)

// Config of a node's runtime. Defaults are filled by the application's
// config package; New validates and never guesses.
type Config struct {
	// NodeID names the node; it must be a valid subject token.
	NodeID string
	// Roles are the worker roles this node runs (may be empty: an edge-only
	// node still heartbeats so that `ctl nodes` lists it).
	Roles []string
	// Labels are extra roles shown in membership but owning no partitions,
	// e.g. "edge".
	Labels []string
	// Partitions is P, the number of partitions per role. The first node
	// writes it to the config bucket; others must agree.
	Partitions int
	// VNodes and Probes shape the ring (see package ring).
	VNodes, Probes int
	// HeartbeatInterval is how often a node writes its heartbeat.
	HeartbeatInterval time.Duration
	// NodeTimeout is how long without a heartbeat before a node is gone.
	NodeTimeout time.Duration
	// DrainTimeout bounds how long Drain waits for partitions to be handed over.
	DrainTimeout time.Duration
	// RebalanceDelay is how long a node keeps a busy partition (Holder)
	// that the ring gives to a node that joined; zero hands it over at once.
	RebalanceDelay time.Duration
	// Replicas of the KV buckets and the event stream (1 on one machine, 3
	// on a NATS cluster).
	Replicas int
	// EventRetention is how long the event stream keeps events.
	EventRetention time.Duration
	// Version of the binary, reported in membership and events.
	Version string
	// HTTPAddr is where this node serves /metrics and /healthz (informative).
	HTTPAddr string
}

func (c *Config) validate() error {
	switch {
	case !events.ValidToken(c.NodeID):
		return fmt.Errorf("%w: node id %q must be 1-64 characters of [A-Za-z0-9_-]", ErrConfig, c.NodeID)
	case c.Partitions < 1 || c.Partitions > 4096:
		return fmt.Errorf("%w: partitions %d not in 1..4096", ErrConfig, c.Partitions)
	case c.HeartbeatInterval <= 0:
		return fmt.Errorf("%w: heartbeat interval must be positive", ErrConfig)
	case c.NodeTimeout < 3*c.HeartbeatInterval:
		return fmt.Errorf("%w: node timeout %v must be at least 3 heartbeat intervals (%v)", ErrConfig, c.NodeTimeout, 3*c.HeartbeatInterval)
	case c.RebalanceDelay < 0:
		return fmt.Errorf("%w: rebalance delay %v is negative", ErrConfig, c.RebalanceDelay)
	case c.Replicas < 1 || c.Replicas > 5:
		return fmt.Errorf("%w: replicas %d not in 1..5", ErrConfig, c.Replicas)
	}
	for _, r := range c.Roles {
		if !events.ValidToken(r) {
			return fmt.Errorf("%w: role %q", ErrConfig, r)
		}
	}
	return nil
}

// fenceMargin is how much earlier than NodeTimeout a node stops trusting its
// own membership: one heartbeat interval.
func (c *Config) fenceMargin() time.Duration { return c.HeartbeatInterval }
