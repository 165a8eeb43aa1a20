package helm

// SetFightLimit changes how many corrections of one object in a minute
// start a pause, so that a benchmark may correct one object many times.
// Call it after WatchDrift, before Start.
func (m *Monitor) SetFightLimit(n int) { m.detector.fightLimit = n }

// SyncedWatches counts the Monitor's watches that have listed their type.
func (m *Monitor) SyncedWatches() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, w := range m.watches {
		if w.synced() {
			n++
		}
	}
	return n
}

// DriftIdle reports whether every watch of the Monitor has delivered what
// it listed and no drift check is queued or under way.
func (m *Monitor) DriftIdle() bool {
	m.mu.Lock()
	for _, w := range m.watches {
		if !w.handled() {
			m.mu.Unlock()
			return false
		}
	}
	n := len(m.watches)
	m.mu.Unlock()
	d := m.detector
	d.mu.Lock()
	defer d.mu.Unlock()
	return n > 0 && len(d.queue) == 0 && !d.checking
}
