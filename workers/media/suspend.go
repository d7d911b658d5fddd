package media

// Suspend implements workers.Suspender: the node fenced itself (it missed
// its heartbeat deadline, e.g. while its NATS server died). The partition's
// SIP and commands stop arriving (the node dropped its subscription); its
// calls' RTP, echo and bridges run on untouched, and its timers and
// once-a-second checks wait, so that nothing is written or sent in the
// name of a partition another node may be taking over.
func (r *Role) Suspend(p int) {
	if pt := r.part(p); pt != nil {
		pt.mu.Lock()
		pt.suspended = true
		pt.mu.Unlock()
	}
}

// Resume implements workers.Suspender: the node got the partition's lease
// back untouched; the calls go on as if nothing happened (no re-INVITE).
func (r *Role) Resume(p int) {
	if pt := r.part(p); pt != nil {
		pt.mu.Lock()
		pt.suspended = false
		pt.mu.Unlock()
	}
}
