//! Where time comes from, for code whose behaviour depends on it.
//!
//! Library code that reads the time (expiry of a sealed `requestState`, a budget's day, a rate
//! limit) takes a [`Clock`] instead of asking the system, so that tests can move time forward
//! with a fake clock rather than wait. [`SystemClock`], the default everywhere, reads the
//! system's clocks.

use std::fmt::Debug;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// A source of time.
///
/// Two readings, for two uses: [`Clock::now`] is the wall clock (dates, expiry times written
/// into messages), which may jump when the system's clock is set; [`Clock::monotonic`] never
/// goes back (rates, intervals).
pub trait Clock: Send + Sync + Debug + 'static {
    /// The wall-clock time.
    fn now(&self) -> SystemTime;

    /// Time since a fixed point of this clock (any point, the same for every reading); never
    /// decreases.
    fn monotonic(&self) -> Duration;
}

/// The system's clocks: [`SystemTime::now`], and [`Instant`] for the monotonic reading (from
/// the first monotonic reading of the process).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn monotonic(&self) -> Duration {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed()
    }
}

/// A [`Clock`] that moves only when told to (for tests); clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    /// The wall-clock time, and the monotonic reading.
    at: Arc<Mutex<(SystemTime, Duration)>>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: SystemTime) -> ManualClock {
        ManualClock {
            at: Arc::new(Mutex::new((start, Duration::ZERO))),
        }
    }

    /// Moves both readings forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut at = self.at.lock().unwrap_or_else(|p| p.into_inner());
        at.0 += by;
        at.1 += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.at.lock().unwrap_or_else(|p| p.into_inner()).0
    }

    fn monotonic(&self) -> Duration {
        self.at.lock().unwrap_or_else(|p| p.into_inner()).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_reads_the_system_and_never_goes_back() {
        let before = SystemTime::now();
        let now = SystemClock.now();
        assert!(now >= before && now <= SystemTime::now());
        let a = SystemClock.monotonic();
        let b = SystemClock.monotonic();
        assert!(b >= a);
    }
}
