//! The probe rate and ETA of a scan's progress, from its counters read at intervals: the
//! Supervisor measures its own scans, the fleet worker the shared scans summed over every
//! chunk and appliance.

use std::time::Instant;

use sonde_web::api::ScanCounters;

/// Weight of the newest interval in the smoothed rate.
const RATE_SMOOTHING: f64 = 0.3;

/// A smoothed probes-per-second rate, measured between successive readings of one scan's
/// counters.
#[derive(Debug, Clone)]
pub(crate) struct RateMeter {
    /// When the counters were last read.
    at: Instant,
    /// Probes sent then.
    sent: u64,
    /// The smoothed rate.
    pps: f64,
    /// Whether a rate was measured yet: the first interval is taken as it is.
    measured: bool,
}

impl RateMeter {
    /// A meter whose first interval starts at `now`, with `sent` probes already sent.
    pub(crate) fn new(now: Instant, sent: u64) -> Self {
        Self { at: now, sent, pps: 0.0, measured: false }
    }

    /// Sets `c.rate_pps` (smoothed since the previous call) and `c.eta_seconds` (pairs left
    /// over pairs per second; `None` until something was sent).
    pub(crate) fn measure(&mut self, now: Instant, c: &mut ScanCounters) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        if elapsed > 0.0 {
            let instant = c.probes_sent.saturating_sub(self.sent) as f64 / elapsed;
            self.pps = if !self.measured || self.sent == 0 {
                instant
            } else {
                RATE_SMOOTHING * instant + (1.0 - RATE_SMOOTHING) * self.pps
            };
            self.measured = true;
            self.at = now;
            self.sent = c.probes_sent;
        }
        c.rate_pps = self.pps;
        let remaining = c.probes_total.saturating_sub(c.probes_done);
        // Retries make `sent` run ahead of `done`; pairs per second is the honest ETA basis.
        let pairs_per_sent =
            if c.probes_sent > 0 { c.probes_done as f64 / c.probes_sent as f64 } else { 1.0 };
        let pairs_rate = self.pps * pairs_per_sent;
        c.eta_seconds = (pairs_rate > 0.0).then(|| remaining as f64 / pairs_rate);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn counters(total: u64, sent: u64, done: u64) -> ScanCounters {
        ScanCounters {
            probes_total: total,
            probes_sent: sent,
            probes_done: done,
            ..Default::default()
        }
    }

    #[test]
    fn the_rate_is_smoothed_and_the_eta_counts_pairs_left() {
        let t0 = Instant::now();
        let mut meter = RateMeter::new(t0, 0);
        let mut c = counters(1000, 100, 100);
        meter.measure(t0 + Duration::from_secs(1), &mut c);
        assert!((c.rate_pps - 100.0).abs() < 1e-9);
        assert!((c.eta_seconds.unwrap() - 9.0).abs() < 1e-9);
        let mut c = counters(1000, 400, 200);
        meter.measure(t0 + Duration::from_secs(2), &mut c);
        // 0.3 x 300 + 0.7 x 100; half the probes sent settle a pair (retries).
        assert!((c.rate_pps - 160.0).abs() < 1e-9, "{}", c.rate_pps);
        assert!((c.eta_seconds.unwrap() - 800.0 / 80.0).abs() < 1e-9);
    }

    #[test]
    fn a_meter_started_late_measures_from_its_first_reading() {
        // A console that starts watching a shared scan already 5,000 probes in.
        let t0 = Instant::now();
        let mut meter = RateMeter::new(t0, 5_000);
        let mut c = counters(10_000, 5_500, 5_500);
        meter.measure(t0 + Duration::from_millis(500), &mut c);
        assert!((c.rate_pps - 1000.0).abs() < 1e-9, "{}", c.rate_pps);
        let mut idle = counters(10_000, 0, 0);
        RateMeter::new(t0, 0).measure(t0, &mut idle);
        assert_eq!((idle.rate_pps, idle.eta_seconds), (0.0, None));
    }
}
