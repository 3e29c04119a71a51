//! The time left for `quire pack`'s progress bar.
//!
//! The input is read much faster than it is compressed while the writer is still collecting
//! the sample it picks the dictionary from (the first `dict_sample` bytes, 16 MiB by default):
//! nothing is compressed until the sample is complete. An estimate from that phase says
//! "0 s", and then jumps once compression starts (issue 13 item 19). So no estimate is given
//! until the sample is complete and a few seconds of steady work have been seen, and the
//! rate is the average since the sample was complete, not a recent burst.

use std::time::Duration;

/// Seconds of steady work seen before the first estimate.
const SETTLE: Duration = Duration::from_secs(2);

/// Estimates the time left from input positions over time.
#[derive(Debug, Clone, Copy)]
pub struct Eta {
    /// Bytes taken in before compression starts.
    warmup: u64,
    /// Elapsed time and position when the warm-up ended.
    start: Option<(Duration, u64)>,
}

impl Eta {
    /// An estimator for a writer that buffers its first `warmup` bytes.
    pub fn new(warmup: u64) -> Eta {
        Eta {
            warmup,
            start: None,
        }
    }

    /// Notes the position `pos` at `elapsed` since the start.
    pub fn observe(&mut self, elapsed: Duration, pos: u64) {
        if self.start.is_none() && pos >= self.warmup {
            self.start = Some((elapsed, pos));
        }
    }

    /// The time left to reach `len`, or `None` while there is no fair estimate.
    pub fn estimate(&self, elapsed: Duration, pos: u64, len: u64) -> Option<Duration> {
        let (t0, p0) = self.start?;
        let spent = elapsed.checked_sub(t0)?;
        if spent < SETTLE || pos <= p0 {
            return None;
        }
        let rate = (pos - p0) as f64 / spent.as_secs_f64();
        let left = len.saturating_sub(pos) as f64 / rate;
        left.is_finite()
            .then(|| Duration::from_secs_f64(left.ceil()))
    }
}
