package ring_test

import (
	"slices"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/switchboard-voip/switchboard/workers/ring"
)

// TestRingGolden freezes the ring's placement. Every node computes owners
// independently, so nodes of different versions (or a client in another
// language, see docs/partitioning.md) must agree with these values exactly.
func TestRingGolden(t *testing.T) {
	// A vnode's point: xxhash64 of "<node>#<i>".
	if h := xxhash.Sum64String("node-a#0"); h != 0xd90cf72dec758d28 {
		t.Errorf("point node-a#0 = %#016x", h)
	}
	// A partition's key: xxhash64 of its 8-byte big-endian number.
	for _, c := range []struct {
		p    int
		want uint64
	}{
		{0, 0x34c96acdcadb1bbb},
		{1, 0x9f1ffc793b8a47da},
		{7, 0xb194a08f7370a5cf},
		{63, 0x359a01d314fb27a9},
	} {
		if got := ring.PartitionKey(c.p); got != c.want {
			t.Errorf("PartitionKey(%d) = %#016x, want %#016x", c.p, got, c.want)
		}
	}
	three := []string{"node-b", "node-b", "node-b", "node-c", "node-c", "node-a", "node-c", "node-c",
		"node-b", "node-a", "node-b", "node-c", "node-b", "node-a", "node-c", "node-a"}
	if got := ring.New([]string{"node-c", "node-a", "node-b"}, 160, 5).Assign(16); !slices.Equal(got, three) {
		t.Errorf("3 nodes: owners of partitions 0-15 are %q, want %q", got, three)
	}
	four := []string{"node-b", "node-b", "node-b", "node-c", "node-c", "node-a", "node-d", "node-c",
		"node-b", "node-a", "node-b", "node-c", "node-b", "node-d", "node-c", "node-d"}
	if got := ring.New([]string{"node-a", "node-b", "node-c", "node-d"}, 160, 5).Assign(16); !slices.Equal(got, four) {
		t.Errorf("4 nodes: owners of partitions 0-15 are %q, want %q", got, four)
	}
}
