// Package workers is the runtime every worker role shares: membership by
// heartbeat in JetStream KV, a consistent-hash ring per role, partition
// ownership by KV lease with compare-and-set, subscription of owned
// partitions, the takeover hook a role implements, and graceful drain.
//
// # Ownership and why it is never shared
//
// A lease (key "<role>.<p>" in bucket sb_owners) names a node and its
// incarnation. It has no timer of its own: it is valid while its owner's
// membership is. Other nodes may replace it (compare-and-set on its
// revision) only when its owner is gone: its heartbeat sequence has not
// advanced for NodeTimeout as they observe it, or it handed the lease back
// (delete). The owner fences itself at the send time of its last
// acknowledged heartbeat plus NodeTimeout minus one heartbeat interval:
// strictly before anyone may observe it gone, since a heartbeat is stored
// after it is sent and observed after it is stored. A fenced node drops all
// its partitions and rejoins with a new incarnation.
package workers
