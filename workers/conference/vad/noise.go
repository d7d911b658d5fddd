package vad

// noiseBlocks is how many blocks the noise window is cut into: the floor
// is the minimum of the block minima, so it forgets a quiet moment between
// NoiseWindow·(1−1/noiseBlocks) and NoiseWindow after it.
const noiseBlocks = 8

// noiseFloor is a windowed minimum of frame levels.
type noiseFloor struct {
	block  int                  // samples per block
	mins   [noiseBlocks]float64 // minimum of each past block
	cur    float64              // minimum of the current block
	filled int                  // samples in the current block
	next   int                  // mins index the current block will take
	seen   int                  // blocks completed, up to noiseBlocks
}

func (n *noiseFloor) reset(block int) {
	*n = noiseFloor{block: max(block, 1), cur: 0}
}

// add takes one frame's level and returns the floor including it.
func (n *noiseFloor) add(level float64, samples int) float64 {
	if n.filled == 0 || level < n.cur {
		n.cur = level
	}
	n.filled += samples
	floor := n.cur
	for i := range n.seen {
		floor = min(floor, n.mins[i])
	}
	if n.filled >= n.block {
		n.mins[n.next] = n.cur
		n.next = (n.next + 1) % noiseBlocks
		n.seen = min(n.seen+1, noiseBlocks)
		n.filled = 0
	}
	return floor
}
