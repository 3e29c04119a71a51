//! The default number of compression threads for `quire pack`.
//!
//! Every compression worker builds its own zstd context for the dictionary (with a 2–4 MiB
//! dictionary: its own match-finder tables, 17–33 MiB) and matching against the
//! dictionary costs more per block when two such contexts run at once. Packing the news
//! corpus takes about 40% more CPU time with two workers than with one (5.9 s → 8.2 s user),
//! which two idle cores repay, but a busy machine does not: the second worker gets no core
//! of its own, and the pack is slower than `--threads 1` (issue 13 item 20). So the default
//! is one worker per core that is actually idle, measured over a moment at the start.

use std::time::Duration;

/// How long the CPU's idle time is measured for the default.
pub const SAMPLE: Duration = Duration::from_millis(100);

/// Inputs smaller than this are packed on one thread: nothing to gain from more.
pub const SMALL_INPUT: u64 = 1 << 20;

/// Threads for `cores` cores of which `idle` (fractional) were idle: one per idle core,
/// counting a core that is idle three quarters of the time, at least one, at most `cores`.
pub fn threads_for(cores: usize, idle: Option<f64>) -> usize {
    let cores = cores.max(1);
    match idle {
        None => cores,
        Some(idle) => ((idle + 0.25).floor() as usize).clamp(1, cores),
    }
}

/// `(idle, total)` clock ticks of all CPUs so far, from `/proc/stat`.
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal
    let idle = v.get(3)? + v.get(4)?;
    Some((idle, v.iter().sum()))
}

/// How many of `cores` CPUs were idle over [`SAMPLE`] (`None` where `/proc/stat` is not
/// available).
pub fn idle_cpus(cores: usize) -> Option<f64> {
    let (i0, t0) = cpu_ticks()?;
    std::thread::sleep(SAMPLE);
    let (i1, t1) = cpu_ticks()?;
    let total = t1.checked_sub(t0).filter(|t| *t > 0)?;
    let idle = i1.checked_sub(i0)?;
    Some(cores as f64 * idle as f64 / total as f64)
}

/// The default thread count: all cores when they cannot be measured, one for small inputs,
/// else one per idle core.
pub fn default_threads(input_len: Option<u64>) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores == 1 || input_len.is_some_and(|n| n < SMALL_INPUT) {
        return 1;
    }
    threads_for(cores, idle_cpus(cores))
}

#[cfg(test)]
mod tests {
    use super::threads_for;

    #[test]
    fn one_thread_per_idle_core() {
        assert_eq!(threads_for(2, Some(2.0)), 2);
        assert_eq!(threads_for(2, Some(1.8)), 2);
        assert_eq!(threads_for(2, Some(1.0)), 1);
        assert_eq!(threads_for(2, Some(0.1)), 1);
        assert_eq!(threads_for(8, Some(5.5)), 5);
        assert_eq!(threads_for(4, None), 4);
        assert_eq!(threads_for(0, Some(3.0)), 1);
    }
}
