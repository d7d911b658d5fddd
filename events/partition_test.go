package events_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/switchboard-voip/switchboard/events"
)

// longCallID is 1 KiB: "0123456789abcdef" repeated 64 times. It exercises
// xxhash64's 32-byte stripe loop many times over.
var longCallID = strings.Repeat("0123456789abcdef", 64)

// ishmael is xxhash's own 63-byte test input, which goes through every code
// path of the hash (stripes, 8-, 4- and 1-byte tails).
const ishmael = "Call me Ishmael. Some years ago--never mind how long precisely-"

// golden is the partition function's contract. The values were computed once
// with this implementation and frozen: a change to any of them is a change
// of the wire contract (every call would move), not a refactoring. The same
// table is in docs/partitioning.md, where a Python reference implementation
// reproduces it; an implementation in another language must too. xxh64 is
// the intermediate xxhash64 (seed 0) of the key's bytes, so that a port can
// be checked one step at a time.
var golden = []struct {
	callID string
	n      int
	xxh64  uint64
	want   int
}{
	{"a84b4c76e66710@pc33.atlanta.com", 1, 0xc00054cb6ac0988f, 0},
	{"a84b4c76e66710@pc33.atlanta.com", 2, 0xc00054cb6ac0988f, 0},
	{"a84b4c76e66710@pc33.atlanta.com", 16, 0xc00054cb6ac0988f, 8},
	{"a84b4c76e66710@pc33.atlanta.com", 64, 0xc00054cb6ac0988f, 38},
	{"a84b4c76e66710@pc33.atlanta.com", 256, 0xc00054cb6ac0988f, 203},
	{"a84b4c76e66710@pc33.atlanta.com", 1024, 0xc00054cb6ac0988f, 203},
	{"3848276298220188511@atlanta.example.com", 2, 0xc93bbbf9754ef276, 0},
	{"3848276298220188511@atlanta.example.com", 64, 0xc93bbbf9754ef276, 52},
	{"3848276298220188511@atlanta.example.com", 1024, 0xc93bbbf9754ef276, 855},
	{"", 64, 0xef46db3751d8e999, 40},
	{"", 1024, 0xef46db3751d8e999, 332},
	{"x", 16, 0x5c80c09683041123, 0},
	{"x", 64, 0x5c80c09683041123, 0},
	{"abc", 64, 0x44bc2cf5ad770999, 24},
	{"f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com", 64, 0xcf1b1895fe4cf43c, 6},
	{"1-4242@192.0.2.10", 256, 0x0edfa03882a46067, 143},
	{`"quoted"/%2F*>@[2001:db8::1]`, 64, 0xf0ffeb506e63e398, 7},
	{"通话-42@例子.测试", 64, 0xb3bafba570caa1ce, 19},
	{"ümlaut-☎️@münchen.example", 16, 0xbffd894f270c48ea, 15},
	{longCallID, 64, 0xf35c1818fab24cd0, 39},
	{longCallID, 1024, 0xf35c1818fab24cd0, 316},
	{ishmael, 256, 0x02a2e85470d6fd96, 93},
}

func TestPartitionGolden(t *testing.T) {
	for _, g := range golden {
		name := g.callID
		if len(name) > 40 {
			name = name[:40] + "..."
		}
		if h := xxhash.Sum64String(g.callID); h != g.xxh64 {
			t.Errorf("xxhash64(%q) = %#016x, want %#016x", name, h, g.xxh64)
		}
		if got := events.Partition(g.callID, g.n); got != g.want {
			t.Errorf("Partition(%q, %d) = %d, want %d", name, g.n, got, g.want)
		}
	}
}

// TestXXHash64Vectors checks the hash underneath Partition against published
// XXH64 test vectors (seed 0; the last five are also in cespare/xxhash's own
// tests), so that a port's xxhash64 can be validated on its own before jump
// is layered on top.
func TestXXHash64Vectors(t *testing.T) {
	for _, v := range []struct {
		in   string
		want uint64
	}{
		{"", 0xef46db3751d8e999},
		{"a", 0xd24ec4f1a98c6e5b},
		{"abc", 0x44bc2cf5ad770999},
		{"as", 0x1c330fb2d66be179},
		{"asd", 0x631c37ce72a97393},
		{"asdf", 0x415872f599cea71e},
		{ishmael, 0x02a2e85470d6fd96},
	} {
		if got := xxhash.Sum64String(v.in); got != v.want {
			t.Errorf("xxhash64(%q) = %#016x, want %#016x", v.in, got, v.want)
		}
		if got := xxhash.Sum64([]byte(v.in)); got != v.want {
			t.Errorf("xxhash64([]byte(%q)) = %#016x, want %#016x", v.in, got, v.want)
		}
	}
}

// TestPartitionDegenerateCounts: n <= 1 is one partition, 0.
func TestPartitionDegenerateCounts(t *testing.T) {
	for _, n := range []int{-1, 0, 1} {
		for _, k := range []string{"", "x", "a84b4c76e66710@pc33.atlanta.com"} {
			if got := events.Partition(k, n); got != 0 {
				t.Errorf("Partition(%q, %d) = %d, want 0", k, n, got)
			}
		}
	}
}

// TestPartitionInRange: every result is in [0, n) for many n.
func TestPartitionInRange(t *testing.T) {
	for n := 1; n <= 4096; n = n*3 + 1 {
		for k := range 2000 {
			if p := events.Partition(callID(k), n); p < 0 || p >= n {
				t.Fatalf("Partition(%q, %d) = %d, out of range", callID(k), n, p)
			}
		}
	}
}

// callID makes the k-th synthetic Call-ID, shaped like the ones SIP user
// agents generate: a random-looking local part, '@', a host.
func callID(k int) string {
	return strconv.FormatUint(uint64(k)*0x9e3779b97f4a7c15>>16, 16) + "-" + strconv.Itoa(k) + "@pc" + strconv.Itoa(k%97) + ".atlanta.example.com"
}

// TestPartitionDistribution: 1M Call-IDs over 64 partitions put every
// partition within ±5 % of the mean, and the counts pass Pearson's
// chi-squared test of uniformity. With 15625 keys per partition one count's
// standard deviation is 0.8 %, so ±5 % is over 6 sigma: a failure means the
// hash is not uniform, not bad luck.
func TestPartitionDistribution(t *testing.T) {
	const keys, n = 1_000_000, 64
	var count [n]int
	for k := range keys {
		count[events.Partition(callID(k), n)]++
	}
	mean := float64(keys) / n
	lo, hi := keys, 0
	chi2 := 0.0
	for p, c := range count {
		lo, hi = min(lo, c), max(hi, c)
		d := float64(c) - mean
		chi2 += d * d / mean
		if d/mean < -0.05 || d/mean > 0.05 {
			t.Errorf("partition %d has %d keys, %+.2f%% off the mean %.0f", p, c, d/mean*100, mean)
		}
	}
	// 63 degrees of freedom: mean 63, and 103.4 is exceeded with
	// probability 0.001 by a uniform hash.
	if chi2 > 103.4 {
		t.Errorf("chi-squared %.1f over %d partitions: not uniform (p < 0.001)", chi2, n)
	}
	t.Logf("%d keys over %d partitions: min %d (%+.2f%%), max %d (%+.2f%%), mean %.0f, chi-squared %.1f (63 df)",
		keys, n, lo, (float64(lo)-mean)/mean*100, hi, (float64(hi)-mean)/mean*100, mean, chi2)
}

// TestJumpMovesOnlyToTheNewPartition: growing n from 64 to 65 moves about
// 1/65 of the keys, and every key that moves goes to the new partition 64.
// Shrinking back restores every key.
func TestJumpMovesOnlyToTheNewPartition(t *testing.T) {
	const keys = 200_000
	moved := 0
	for k := range keys {
		id := callID(k)
		before, after := events.Partition(id, 64), events.Partition(id, 65)
		if before == after {
			continue
		}
		if after != 64 {
			t.Fatalf("%q moved from %d to %d, not to the new partition 64", id, before, after)
		}
		moved++
	}
	want := float64(keys) / 65
	if f := float64(moved); f < want*0.9 || f > want*1.1 {
		t.Errorf("%d of %d keys moved, want about %.0f (1/65)", moved, keys, want)
	}
	t.Logf("64 -> 65 partitions: %d of %d keys moved (%.3f%%; 1/65 = %.3f%%)", moved, keys, float64(moved)/keys*100, 100.0/65)
}

// TestJumpMonotone: for one key, as n grows one at a time, the partition only
// ever changes to the newest one (n-1). This is jump's defining property.
func TestJumpMonotone(t *testing.T) {
	for k := range 500 {
		id := callID(k)
		prev := events.Partition(id, 1)
		for n := 2; n <= 300; n++ {
			p := events.Partition(id, n)
			if p != prev && p != n-1 {
				t.Fatalf("%q: n=%d gives %d, n=%d gave %d", id, n, p, n-1, prev)
			}
			prev = p
		}
	}
}

var sink int

func TestPartitionDoesNotAllocate(t *testing.T) {
	for _, k := range []string{"", "a84b4c76e66710@pc33.atlanta.com", longCallID} {
		if a := testing.AllocsPerRun(1000, func() { sink = events.Partition(k, 64) }); a != 0 {
			t.Errorf("Partition of a %d-byte key allocates %v times per call", len(k), a)
		}
	}
}

func BenchmarkPartition(b *testing.B) {
	for _, bc := range []struct {
		name string
		key  string
		n    int
	}{
		{"callid31B/P=64", "a84b4c76e66710@pc33.atlanta.com", 64},
		{"callid31B/P=1024", "a84b4c76e66710@pc33.atlanta.com", 1024},
		{"callid39B/P=64", "3848276298220188511@atlanta.example.com", 64},
		{"key1KiB/P=64", longCallID, 64},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.key)))
			for b.Loop() {
				sink = events.Partition(bc.key, bc.n)
			}
		})
	}
}

func BenchmarkEncodeCallID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = events.EncodeCallID("a84b4c76e66710@pc33.atlanta.com")
	}
}

func ExamplePartition() {
	fmt.Println(events.Partition("a84b4c76e66710@pc33.atlanta.com", events.DefaultPartitions))
	fmt.Println(events.Partition("3848276298220188511@atlanta.example.com", events.DefaultPartitions))
	// Output:
	// 38
	// 52
}
