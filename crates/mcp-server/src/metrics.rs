//! What a server counts for its operators: legacy sampling round trips (the time from the
//! request to the client's reply, as a histogram) and failed ones. A modern round trip spans
//! two stateless HTTP requests and is not timed here. Rendered in Prometheus' text format by [`Metrics::render`] (mcp-http serves
//! it at `/metrics`).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the round-trip histogram's buckets, in seconds.
pub const BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// A latency histogram with fixed buckets.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    /// Counts one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| s <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn render(&self, name: &str, out: &mut String) {
        let mut cumulative = 0;
        for (b, n) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cumulative}");
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// A server's counters, shared by all its connections.
#[derive(Default)]
pub struct Metrics {
    /// Legacy sampling round trips answered, by latency.
    pub sampling: Histogram,
    /// Legacy sampling requests that failed (rejected, timed out, connection gone, bad reply).
    pub sampling_failed: AtomicU64,
}

impl Metrics {
    /// Appends the counters in Prometheus' text format.
    pub fn render(&self, out: &mut String) {
        let name = "mcp_sampling_round_trip_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Legacy sampling requests to the client until its reply."
        );
        let _ = writeln!(out, "# TYPE {name} histogram");
        self.sampling.render(name, out);
        let name = "mcp_sampling_failed_total";
        let _ = writeln!(
            out,
            "# HELP {name} Legacy sampling requests that failed (rejected, timed out, connection gone).\n# TYPE {name} counter"
        );
        let failed = self.sampling_failed.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name} {failed}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_sum_in_seconds() {
        let h = Histogram::default();
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_millis(40));
        h.observe(Duration::from_secs(100));
        let mut out = String::new();
        h.render("x", &mut out);
        assert!(out.contains("x_bucket{le=\"0.005\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"0.05\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"60\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_sum 100.043\n"), "{out}");
        assert!(out.contains("x_count 3\n"), "{out}");
    }
}
