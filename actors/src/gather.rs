//! Gathering a batch from a queue: what waits is taken at once; more is
//! waited for only while arrivals are fast enough that one more is likely
//! within a short window, so a lone item on a quiet server goes at once and a
//! busy one fills its batches. The group-commit writers gather operations
//! with it, the card reads gather cold cards.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

/// How a batch is filled.
pub(crate) struct Gather {
    pub(crate) max_batch: usize,
    /// The longest a batch stays open for more (zero: never waits).
    window: Duration,
    pace: Pace,
}

impl Gather {
    pub(crate) fn new(max_batch: usize, window: Duration) -> Self {
        Self { max_batch: max_batch.max(1), window, pace: Pace::default() }
    }

    /// Take what waits; then, if items arrive fast enough that one more is
    /// likely within the window, sleep until the window (counted from
    /// `opened`, when the first arrived) closes and take what came
    /// meanwhile, up to a full batch.
    ///
    /// It sleeps through the window rather than waking for each arrival:
    /// the senders are other threads, and waking this one costs each of them
    /// a system call and a context switch (measured: about one per operation
    /// when it woke per arrival), where one timer wake-up serves the window.
    pub(crate) async fn collect<T>(&mut self, rx: &mut mpsc::Receiver<T>, batch: &mut Vec<T>, opened: Instant) {
        self.drain(rx, batch);
        if batch.len() < self.max_batch && self.pace.expects_more_within(self.window, opened) {
            tokio::time::sleep_until(tokio::time::Instant::from_std(opened + self.window)).await;
            self.drain(rx, batch);
        }
        self.pace.batch(batch.len(), opened);
    }

    fn drain<T>(&self, rx: &mut mpsc::Receiver<T>, batch: &mut Vec<T>) {
        while batch.len() < self.max_batch {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
    }
}

/// The recent arrival rate at one queue: items per second, a moving
/// average over batches (each batch's operations over the time since the
/// previous batch opened).
#[derive(Default)]
struct Pace {
    per_sec: f64,
    last_opened: Option<Instant>,
}

impl Pace {
    fn batch(&mut self, ops: usize, opened: Instant) {
        if let Some(last) = self.last_opened {
            let gap = opened.duration_since(last).as_secs_f64().max(1e-6);
            // A long quiet spell resets the estimate at once.
            let rate = ops as f64 / gap;
            self.per_sec = if gap > 0.1 { rate } else { 0.8 * self.per_sec + 0.2 * rate };
        }
        self.last_opened = Some(opened);
    }

    /// Whether at least one more operation is likely within `window` of
    /// `opened`. Not after a quiet spell, whatever the rate before it.
    fn expects_more_within(&self, window: Duration, opened: Instant) -> bool {
        let recent = self.last_opened.is_some_and(|last| opened.duration_since(last) < Duration::from_millis(100));
        recent && !window.is_zero() && self.per_sec * window.as_secs_f64() >= 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_waits_only_while_operations_keep_coming() {
        let window = Duration::from_millis(1);
        let t0 = Instant::now();
        let mut pace = Pace::default();
        assert!(!pace.expects_more_within(window, t0), "the first operation commits at once");
        // Batches of 5 every 2 ms: 2,500 a second, 2.5 per window.
        for i in 0..20 {
            pace.batch(5, t0 + Duration::from_millis(2 * i));
        }
        assert!(pace.expects_more_within(window, t0 + Duration::from_millis(40)));
        assert!(!pace.expects_more_within(Duration::ZERO, t0 + Duration::from_millis(40)), "no window, no wait");
        assert!(!pace.expects_more_within(window, t0 + Duration::from_millis(300)), "not after a quiet spell");
        // One operation every 10 ms: 100 a second, 0.1 per window.
        let mut pace = Pace::default();
        for i in 0..50 {
            pace.batch(1, t0 + Duration::from_millis(10 * i));
        }
        assert!(!pace.expects_more_within(window, t0 + Duration::from_millis(500)));
    }
}
