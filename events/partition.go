package events

import "github.com/cespare/xxhash/v2"

// DefaultPartitions is the partition count P a new cluster starts with. It is
// stored in the cluster config bucket so that every node agrees on it.
const DefaultPartitions = 64

// Partition maps a Call-ID (or any routing key: a conference name, a member id)
// to a partition in [0, n). It is jump consistent hashing (Lamping & Veach,
// "A Fast, Minimal Memory, Consistent Hash Algorithm", 2014) over xxhash64 of
// the key bytes: every key lands in a partition with equal probability, and
// growing n moves only the keys the new partitions take.
//
// This is the one routing function of the platform. Other implementations
// must reproduce TestPartitionGolden's table exactly.
func Partition(key string, n int) int {
	if n <= 1 {
		return 0
	}
	return jump(xxhash.Sum64String(key), n)
}

// jump is the jump consistent hash of the paper, verbatim.
func jump(key uint64, n int) int {
	var b, j int64 = -1, 0
	for j < int64(n) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int(b)
}
