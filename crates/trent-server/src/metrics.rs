//! `GET /metrics`: request counts by operation and outcome, and latency histograms by operation,
//! in Prometheus's text format (version 0.0.4). A few counters need no metrics library.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// How a request ended, as the `outcome` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allow = 0,
    Deny = 1,
    Error = 2,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::Error => "error",
        }
    }
}

/// What one operation's requests came to.
#[derive(Default)]
struct OperationStats {
    /// Requests by outcome, indexed by `Outcome as usize`.
    outcomes: [u64; 3],
    /// Requests at or below each latency bucket's bound (cumulative, as Prometheus wants them).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The counters of one server, by operation name.
#[derive(Default)]
pub struct Metrics(Mutex<BTreeMap<String, OperationStats>>);

impl Metrics {
    pub fn record(&self, operation: &str, outcome: Outcome, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // The name is copied once per operation, not once per request.
        let stats = match all.get_mut(operation) {
            Some(stats) => stats,
            None => all.entry(operation.to_string()).or_default(),
        };
        stats.outcomes[outcome as usize] += 1;
        for (bound, n) in BUCKETS.iter().zip(stats.buckets.iter_mut()) {
            if seconds <= *bound {
                *n += 1;
            }
        }
        stats.count += 1;
        stats.sum += seconds;
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str(
            "# HELP trent_requests_total Requests answered, by operation and outcome \
             (allow, deny, error).\n# TYPE trent_requests_total counter\n",
        );
        for (operation, stats) in all.iter() {
            for outcome in [Outcome::Allow, Outcome::Deny, Outcome::Error] {
                let n = stats.outcomes[outcome as usize];
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "trent_requests_total{{operation=\"{operation}\",outcome=\"{}\"}} {n}",
                        outcome.as_str()
                    );
                }
            }
        }
        out.push_str(
            "# HELP trent_request_duration_seconds Time from the request's arrival to its \
             answer, by operation.\n# TYPE trent_request_duration_seconds histogram\n",
        );
        for (operation, stats) in all.iter() {
            for (bound, n) in BUCKETS.iter().zip(stats.buckets) {
                let _ = writeln!(
                    out,
                    "trent_request_duration_seconds_bucket{{operation=\"{operation}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "trent_request_duration_seconds_bucket{{operation=\"{operation}\",le=\"+Inf\"}} {}\n\
                 trent_request_duration_seconds_sum{{operation=\"{operation}\"}} {}\n\
                 trent_request_duration_seconds_count{{operation=\"{operation}\"}} {}",
                stats.count, stats.sum, stats.count
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_cumulative_buckets() {
        let m = Metrics::default();
        m.record("Decrypt", Outcome::Allow, Duration::from_micros(300));
        m.record("Decrypt", Outcome::Allow, Duration::from_millis(3));
        m.record("Decrypt", Outcome::Deny, Duration::from_secs(5));
        let text = m.render();
        assert!(text.contains("trent_requests_total{operation=\"Decrypt\",outcome=\"allow\"} 2\n"));
        assert!(text.contains("trent_requests_total{operation=\"Decrypt\",outcome=\"deny\"} 1\n"));
        assert!(text.contains("{operation=\"Decrypt\",le=\"0.0005\"} 1\n"));
        assert!(text.contains("{operation=\"Decrypt\",le=\"0.005\"} 2\n"));
        assert!(text.contains("{operation=\"Decrypt\",le=\"2.5\"} 2\n"));
        assert!(text.contains("{operation=\"Decrypt\",le=\"+Inf\"} 3\n"));
        assert!(text.contains("trent_request_duration_seconds_count{operation=\"Decrypt\"} 3\n"));
    }
}
