//! The time left for the progress bars of `quire pack` and `quire unpack`.
//!
//! A stage's first moments are not its pace: the compressors start, the first blocks wait
//! for the dictionary to load, and an estimate from them says "0 s" or "an hour" and then
//! jumps (issue 13 item 19). So no estimate is given until `warmup` bytes are done (0 when
//! nothing is buffered first) and a few seconds of steady work have been seen, and the rate
//! is the average since then, not a recent burst. Each stage of a pack (reading, compressing,
//! writing) gets an estimator of its own.

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
