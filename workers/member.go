package workers

import "time"

// Member is a node's heartbeat, the value of its key in bucket sb_nodes.
type Member struct {
	// ID is the node id (also the key).
	ID string `json:"id"`
	// Incarnation changes every time the node (re)joins.
	Incarnation string `json:"incarnation"`
	// Seq increases with every heartbeat of an incarnation. Peers treat a
	// node as alive only while Seq advances, so a replayed entry never
	// looks like a fresh heartbeat.
	Seq uint64 `json:"seq"`
	// Roles are the worker roles the node owns partitions for.
	Roles []string `json:"roles"`
	// Labels are other roles shown for information (e.g. "edge").
	Labels []string `json:"labels,omitempty"`
	// Draining is set when the node is handing its partitions over.
	Draining bool `json:"draining,omitempty"`
	// Version of the binary.
	Version string `json:"version"`
	// HTTPAddr serves /metrics and /healthz.
	HTTPAddr string `json:"http_addr,omitempty"`
	// Started is when this incarnation joined.
	Started time.Time `json:"started"`
	// Owned is, per role, how many partitions the node owned at this
	// heartbeat (informative; the leases are the truth).
	Owned map[string]int `json:"owned,omitempty"`
}

// HasRole reports whether m owns partitions of role.
func (m *Member) HasRole(role string) bool {
	for _, r := range m.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Lease is the value of key "<role>.<p>" in bucket sb_owners.
type Lease struct {
	// Node owning the partition.
	Node string `json:"node"`
	// Incarnation of that node when it took the lease.
	Incarnation string `json:"incarnation"`
	// Since is when the lease was taken.
	Since time.Time `json:"since"`
}

// peer is what a node knows of another from the heartbeats it watched.
type peer struct {
	m        Member
	lastSeen time.Time // local monotonic time the Seq last advanced
	// beatsAt is how many of our own heartbeats the watcher had delivered
	// when this peer's Seq last advanced (Node.selfBeats then).
	beatsAt uint64
	down    bool // declared down (node.down published by someone)
}
