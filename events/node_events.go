package events

// Node events: membership and partition ownership, published on
// sb.evt.node.<node>.<name>.

func init() {
	Register(func() Payload { return &NodeJoined{} })
	Register(func() Payload { return &NodeLeft{} })
	Register(func() Payload { return &NodeDown{} })
	Register(func() Payload { return &PartitionAcquired{} })
	Register(func() Payload { return &PartitionReleased{} })
}

// NodeJoined is published when a node has joined the cluster.
type NodeJoined struct {
	// Roles the node runs ("edge" plus worker roles).
	Roles []string `json:"roles"`
	// Version of the switchboard binary.
	Version string `json:"version"`
	// Incarnation changes every time the node (re)joins; a lease held by an
	// older incarnation is dead.
	Incarnation string `json:"incarnation"`
	// HTTPAddr is where /metrics and /healthz are served, if anywhere.
	HTTPAddr string `json:"http_addr,omitempty"`
}

func (*NodeJoined) EventType() string { return "io.switchboard.node.v1.joined" }
func (*NodeJoined) EventName() string { return "joined" }

// NodeLeft is published when a node leaves on purpose (drain or stop). A node
// that crashes publishes nothing; its peers publish PartitionAcquired with
// Takeover set instead.
type NodeLeft struct {
	// Reason is "drained" (SIGTERM: partitions were handed over) or
	// "stopped" (SIGINT: stopped at once).
	Reason string `json:"reason"`
}

func (*NodeLeft) EventType() string { return "io.switchboard.node.v1.left" }
func (*NodeLeft) EventName() string { return "left" }

// NodeDown is published when a node's heartbeats stopped without a
// goodbye (a crash, a hung process, a network split), once the others
// consider it gone (node_timeout), by the live member with the lowest ID
// so that it comes once. Its subject names the node that went down
// (sb.evt.node.<down node>.down); the envelope's node is the reporter.
type NodeDown struct {
	// Incarnation is the incarnation that went silent.
	Incarnation string `json:"incarnation"`
	// SilentMS is how long it had been silent when declared down.
	SilentMS float64 `json:"silent_ms"`
	// Roles it ran.
	Roles []string `json:"roles"`
}

func (*NodeDown) EventType() string { return "io.switchboard.node.v1.down" }
func (*NodeDown) EventName() string { return "down" }

// PartitionAcquired is published by the node that became a partition's owner.
type PartitionAcquired struct {
	Role      string `json:"role"`
	Partition int    `json:"partition"`
	// PreviousOwner is the node that held the lease before, if any.
	PreviousOwner string `json:"previous_owner,omitempty"`
	// Takeover is true when the previous owner died holding the lease (its
	// calls were taken over from KV) rather than handing it over.
	Takeover bool `json:"takeover"`
	// TakeoverMS is how long the role's takeover hook took.
	TakeoverMS float64 `json:"takeover_ms"`
}

func (*PartitionAcquired) EventType() string { return "io.switchboard.node.v1.partition_acquired" }
func (*PartitionAcquired) EventName() string { return "partition_acquired" }

// PartitionReleased is published by a node that stopped owning a partition.
type PartitionReleased struct {
	Role      string `json:"role"`
	Partition int    `json:"partition"`
	// Reason is "rebalance" (the ring gave it to another node), "drain"
	// (the node is leaving and handed it over), "stopped" (the node stopped
	// at once) or "lost" (the node could not renew its membership in time
	// and fenced itself).
	Reason string `json:"reason"`
}

func (*PartitionReleased) EventType() string { return "io.switchboard.node.v1.partition_released" }
func (*PartitionReleased) EventName() string { return "partition_released" }
