package audit

// Queued is how many entries wait for the next group, for the test.
func (l *Log) Queued() int {
	l.groupMu.Lock()
	defer l.groupMu.Unlock()
	return len(l.queue)
}
