package jitter

// slotState is where a ring slot's packet is in its life.
type slotState uint8

const (
	// slotFree: never used, or flushed.
	slotFree slotState = iota
	// slotHeld: a received packet waiting to be played.
	slotHeld
	// slotGone: a packet received and then played or discarded. Its seq
	// and ts stay so that a second copy is told apart as a duplicate
	// rather than a late packet, and so that the next packet can learn the
	// frame duration from it.
	slotGone
)

// slot is one packet's place in the ring, indexed by extended sequence
// number modulo the ring size. The buffer only holds packets within
// MaxPackets of the playout cursor, so a held slot's seq is unique.
type slot struct {
	seq, ts int64
	buf     []byte
	pt      uint8
	marker  bool
	state   slotState
}

// ring is the packet store: a fixed array of slots, each owning a payload
// buffer cut from one arena allocated in New. Push copies the payload into
// its slot's buffer (append grows it only for a payload larger than any
// before, so a stream allocates nothing once warm); Pop swaps the slot's
// buffer with the one it handed out last time. Buffers circulate instead
// of being freed: this is the pool, without sync.Pool's per-GC flushes.
type ring struct {
	slots []slot
	held  int
}

// arenaCell is each buffer's initial capacity: 40 ms of G.711 or a 20 ms
// Opus frame at up to 128 kbit/s, so usual streams never grow one.
const arenaCell = 320

// newRing allocates n slots and n+2 buffers (the slots', Pop's and Peek's)
// in one arena; it returns the two spare buffers.
func newRing(n int) (r ring, out, peek []byte) {
	arena := make([]byte, (n+2)*arenaCell)
	cell := func(i int) []byte { return arena[i*arenaCell : i*arenaCell : (i+1)*arenaCell] }
	r.slots = make([]slot, n)
	for i := range r.slots {
		r.slots[i].buf = cell(i)
	}
	return r, cell(n), cell(n + 1)
}

// at returns seq's slot; the caller checks the slot's seq and state.
func (r *ring) at(seq int64) *slot {
	n := int64(len(r.slots))
	i := seq % n
	if i < 0 {
		i += n
	}
	return &r.slots[i]
}

// get returns seq's slot if it holds that packet, else nil.
func (r *ring) get(seq int64) *slot {
	if s := r.at(seq); s.state == slotHeld && s.seq == seq {
		return s
	}
	return nil
}

// release marks a held slot as gone (played or discarded).
func (r *ring) release(s *slot) {
	s.state = slotGone
	r.held--
}

// flush forgets every packet, for a new stream.
func (r *ring) flush() {
	for i := range r.slots {
		r.slots[i].state = slotFree
	}
	r.held = 0
}

// firstHeld returns the held slot with the lowest seq in [from, from+n),
// or nil when nothing is held.
func (r *ring) firstHeld(from int64) *slot {
	if r.held == 0 {
		return nil
	}
	for seq := from; seq < from+int64(len(r.slots)); seq++ {
		if s := r.get(seq); s != nil {
			return s
		}
	}
	return nil
}
