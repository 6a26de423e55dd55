//! One run's measurements and the latency bookkeeping.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Pairs replies with the requests that take their place.
///
/// Latency of a round trip, as this client defines it (the server's turnaround): the time
/// from our writing a reply to reading the next sampling request that follows it, pairing
/// replies and new requests first in, first out. The server keeps `concurrency` requests in
/// flight, so each reply frees one slot and the next request fills it; at concurrency 1 this
/// is exactly the time the server takes from our answer to its next request (its reading,
/// the tool's step, its writing, and both transports). The first `concurrency` requests
/// have no reply before them and are not timed.
#[derive(Default)]
pub struct Turnaround {
    replied: VecDeque<Instant>,
    samples: Vec<Duration>,
}

impl Turnaround {
    /// A reply was written now.
    pub fn replied(&mut self, at: Instant) {
        self.replied.push_back(at);
    }

    /// A sampling request was read now.
    pub fn request(&mut self, at: Instant) {
        if let Some(sent) = self.replied.pop_front() {
            self.samples.push(at.saturating_duration_since(sent));
        }
    }

    /// The latencies measured so far.
    pub fn into_samples(self) -> Vec<Duration> {
        self.samples
    }
}

/// The p-th percentile (0..=100) of the samples, nearest rank; zero when there are none.
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

/// What the client saw of one run.
pub struct Outcome {
    /// Sampling requests answered.
    pub sampling_requests: u64,
    /// From writing the tool call to reading its result.
    pub elapsed: Duration,
    /// The turnaround of each timed round trip.
    pub latencies: Vec<Duration>,
}

/// One run, measured.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    /// The peer's label (`ours`, `rmcp`, `ts`).
    pub server: String,
    /// `stdio` or `http`.
    pub transport: String,
    /// Requests in flight.
    pub concurrency: u64,
    /// Round trips.
    pub n: u64,
    /// Round trips per second of wall time.
    pub round_trips_per_sec: f64,
    /// Server CPU per round trip, microseconds (all its threads, the timed window only).
    pub cpu_us_per_round_trip: f64,
    /// Server peak resident memory, KiB.
    pub peak_rss_kib: u64,
    /// Median turnaround, microseconds.
    pub p50_us: f64,
    /// 99th percentile turnaround, microseconds.
    pub p99_us: f64,
}

impl Sample {
    /// Builds the sample from the client's outcome and the server's CPU time and memory.
    pub fn new(key: (&str, &str, u64), outcome: Outcome, cpu: Duration, rss_kib: u64) -> Self {
        let (server, transport, concurrency) = key;
        let n = outcome.sampling_requests.max(1) as f64;
        let mut lat = outcome.latencies;
        Self {
            server: server.to_owned(),
            transport: transport.to_owned(),
            concurrency,
            n: outcome.sampling_requests,
            round_trips_per_sec: n / outcome.elapsed.as_secs_f64().max(1e-9),
            cpu_us_per_round_trip: cpu.as_secs_f64() * 1e6 / n,
            peak_rss_kib: rss_kib,
            p50_us: percentile(&mut lat, 50.0).as_secs_f64() * 1e6,
            p99_us: percentile(&mut lat, 99.0).as_secs_f64() * 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut v: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&mut v, 50.0), Duration::from_micros(50));
        assert_eq!(percentile(&mut v, 99.0), Duration::from_micros(99));
        assert_eq!(percentile(&mut [], 50.0), Duration::ZERO);
    }

    #[test]
    fn turnaround_pairs_first_in_first_out() {
        let t0 = Instant::now();
        let mut t = Turnaround::default();
        t.request(t0); // one of the first requests: not timed
        t.replied(t0);
        t.request(t0 + Duration::from_micros(30));
        assert_eq!(t.into_samples(), vec![Duration::from_micros(30)]);
    }
}
