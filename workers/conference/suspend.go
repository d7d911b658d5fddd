package conference

// Suspend implements the runtime's Suspender (workers.Suspender on nodes
// that have it): the node fenced itself (its heartbeats were not
// acknowledged in time) and no longer acts for partition p. Its rooms go on
// mixing, since the members' media workers keep sending and nobody else
// mixes them unless the lease is taken, in which case the runtime calls
// Release(p, lost) and the rooms stop. Meanwhile nothing of p is written
// to KV and no member is removed for silence; commands and MemberGone
// messages do not arrive (the partition's subscription is dropped).
func (r *Role) Suspend(p int) {
	if pt := r.part(p); pt != nil {
		pt.mu.Lock()
		pt.suspended = true
		pt.mu.Unlock()
	}
}

// Resume implements the runtime's Suspender: the node got p's lease back
// untouched; the rooms go on as if nothing happened.
func (r *Role) Resume(p int) {
	if pt := r.part(p); pt != nil {
		pt.mu.Lock()
		pt.suspended = false
		pt.mu.Unlock()
	}
}
