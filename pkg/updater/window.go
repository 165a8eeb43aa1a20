package updater

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Window is a recurring stretch of time, in UTC, when Auto mode may apply
// a release: from From to To on each of Days (every day when Days is
// empty). A window whose To is not after its From crosses midnight: it
// starts on a listed day and ends on the next one.
type Window struct {
	Days []time.Weekday
	// From and To are minutes after midnight; To may be 24*60.
	From, To int
}

var dayNames = map[string]time.Weekday{
	"Sun": time.Sunday, "Mon": time.Monday, "Tue": time.Tuesday, "Wed": time.Wednesday,
	"Thu": time.Thursday, "Fri": time.Friday, "Sat": time.Saturday,
}

func parseWindow(days []string, from, to string) (Window, error) {
	var w Window
	var err error
	for _, d := range days {
		wd, ok := dayNames[d]
		if !ok {
			return Window{}, fmt.Errorf("days: %q is not one of Mon, Tue, Wed, Thu, Fri, Sat, Sun", d)
		}
		w.Days = append(w.Days, wd)
	}
	if w.From, err = parseClock(from); err != nil {
		return Window{}, fmt.Errorf("from: %w", err)
	}
	if w.To, err = parseClock(to); err != nil {
		return Window{}, fmt.Errorf("to: %w", err)
	}
	if w.From == w.To {
		return Window{}, errors.New("from and to are equal: the window would be empty")
	}
	return w, nil
}

func parseClock(s string) (int, error) {
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || len(s) != 5 || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q: want HH:MM (00:00 to 24:00, UTC)", s)
	}
	return h*60 + m, nil
}

// Contains reports whether t (converted to UTC) is inside the window.
func (w Window) Contains(t time.Time) bool {
	t = t.UTC()
	minute := t.Hour()*60 + t.Minute()
	if w.From < w.To {
		return w.onDay(t.Weekday()) && minute >= w.From && minute < w.To
	}
	// Crosses midnight: the evening part on a listed day, the morning part
	// on the day after one.
	if minute >= w.From && w.onDay(t.Weekday()) {
		return true
	}
	return minute < w.To && w.onDay((t.Weekday()+6)%7)
}

func (w Window) onDay(d time.Weekday) bool {
	if len(w.Days) == 0 {
		return true
	}
	for _, x := range w.Days {
		if x == d {
			return true
		}
	}
	return false
}

// String is the window as written in the settings.
func (w Window) String() string {
	var days []string
	for _, d := range w.Days {
		days = append(days, d.String()[:3])
	}
	on := "every day"
	if len(days) > 0 {
		on = strings.Join(days, ",")
	}
	return fmt.Sprintf("%s %02d:%02d-%02d:%02d UTC", on, w.From/60, w.From%60, w.To/60, w.To%60)
}

// inWindows reports whether t is inside any of the windows; true when there
// are none.
func inWindows(ws []Window, t time.Time) bool {
	if len(ws) == 0 {
		return true
	}
	for _, w := range ws {
		if w.Contains(t) {
			return true
		}
	}
	return false
}

// nextOpening returns the first minute at or after t inside a window, or
// the zero time when no window opens within eight days (none are set).
func nextOpening(ws []Window, t time.Time) time.Time {
	if len(ws) == 0 {
		return time.Time{}
	}
	cur := t.UTC().Truncate(time.Minute)
	for range 8 * 24 * 60 {
		if inWindows(ws, cur) {
			return cur
		}
		cur = cur.Add(time.Minute)
	}
	return time.Time{}
}
