//! Time as an input. The crate never reads a clock: every call that depends
//! on time is told what time it is, so a test can run a 600 s session timer in
//! microseconds and the host can drive it from tokio's clock.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::{Add, Sub};
use std::time::Duration;

/// A point in time: milliseconds since an origin chosen by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(u64);

impl Time {
    /// The origin.
    pub const ZERO: Time = Time(0);

    /// `ms` milliseconds after the origin.
    pub const fn from_millis(ms: u64) -> Time {
        Time(ms)
    }

    /// Milliseconds since the origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Time since `earlier` (zero if `earlier` is later).
    pub fn since(self, earlier: Time) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)))
    }
}

impl Sub<Time> for Time {
    type Output = Duration;
    fn sub(self, earlier: Time) -> Duration {
        self.since(earlier)
    }
}

/// A min-heap of deadlines with payloads. Cancelled or re-armed timers are not
/// removed: their owners keep a generation number and ignore stale expiries,
/// which keeps arming and cancelling O(log n) and O(1).
#[derive(Debug)]
pub(crate) struct TimerQueue<T> {
    heap: BinaryHeap<Reverse<Entry<T>>>,
    seq: u64,
}

#[derive(Debug)]
struct Entry<T> {
    at: Time,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl<T> Default for TimerQueue<T> {
    fn default() -> Self {
        TimerQueue { heap: BinaryHeap::new(), seq: 0 }
    }
}

impl<T> TimerQueue<T> {
    /// Adds a deadline. Equal deadlines come out in the order they were added.
    pub(crate) fn push(&mut self, at: Time, item: T) {
        self.seq += 1;
        self.heap.push(Reverse(Entry { at, seq: self.seq, item }));
    }

    /// The earliest deadline.
    pub(crate) fn peek(&self) -> Option<Time> {
        self.heap.peek().map(|e| e.0.at)
    }

    /// The payload of the earliest entry.
    pub(crate) fn peek_item(&self) -> Option<&T> {
        self.heap.peek().map(|e| &e.0.item)
    }

    /// Removes and returns the earliest entry due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Time) -> Option<(Time, T)> {
        if self.peek()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse(e)| (e.at, e.item))
    }

    /// Removes the earliest entry whatever its deadline.
    pub(crate) fn pop(&mut self) -> Option<T> {
        self.heap.pop().map(|Reverse(e)| e.item)
    }

    /// Number of entries, stale ones included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_entries_come_out_in_deadline_then_insertion_order() {
        let mut q = TimerQueue::default();
        q.push(Time::from_millis(30), "c");
        q.push(Time::from_millis(10), "a");
        q.push(Time::from_millis(10), "b");
        assert_eq!(q.peek(), Some(Time::from_millis(10)));
        assert_eq!(q.pop_due(Time::from_millis(9)), None);
        assert_eq!(q.pop_due(Time::from_millis(20)).map(|e| e.1), Some("a"));
        assert_eq!(q.pop_due(Time::from_millis(20)).map(|e| e.1), Some("b"));
        assert_eq!(q.pop_due(Time::from_millis(20)), None);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn time_arithmetic_saturates() {
        let t = Time::from_millis(5) + Duration::from_secs(2);
        assert_eq!(t.as_millis(), 2005);
        assert_eq!(Time::from_millis(1) - Time::from_millis(5), Duration::ZERO);
        assert_eq!((Time::from_millis(u64::MAX) + Duration::from_secs(1)).as_millis(), u64::MAX);
    }
}
