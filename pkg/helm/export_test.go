package helm

// SetFightLimit changes how many corrections of one object in a minute
// start a pause, so that a benchmark may correct one object many times.
// Call it after WatchDrift, before Start.
func (m *Monitor) SetFightLimit(n int) { m.detector.fightLimit = n }
