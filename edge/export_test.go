package edge

// SetMaxHeld changes how many requests an edge holds for an owner, until
// the returned function restores it.
func SetMaxHeld(n int64) func() {
	old := maxHeld
	maxHeld = n
	return func() { maxHeld = old }
}

// Held is how many requests e holds for an owner now.
func (e *SIPEdge) Held() int64 { return e.held.Load() }
