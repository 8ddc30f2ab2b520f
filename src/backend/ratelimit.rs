/*!
Pacing requests so that the server never has to say 429: a GCRA limiter
(requests spaced `60 s / requests_per_minute` apart plus a 1% margin, no
burst, so a server counting N requests in any sliding minute sees at most N
even when some requests reach it later than others), and a gate that
holds every new request while a server's `Retry-After` runs, so that one
batch's 429 pauses the others instead of letting them collect more 429s
(which LibreTranslate counts toward an IP ban).
*/

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Extra spacing of [`RateLimiter::per_minute`]. Requests spaced exactly
/// `60 s / n` apart put n + 1 arrivals in one of a sliding-window server's
/// minutes as soon as an early request arrives a little late (the first
/// ones open connections, and networks jitter); 1% of a minute is 600 ms of
/// slack, for 1% of throughput.
pub const MARGIN: f64 = 0.01;

/// Generic cell rate algorithm with a burst of one.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    /// The theoretical arrival time of the next request.
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// At most `n` requests in any minute (`n` ≥ 1), spaced
    /// [`MARGIN`] wider than `60 s / n`.
    pub fn per_minute(n: u32) -> RateLimiter {
        RateLimiter::with_interval(Duration::from_secs(60).mul_f64(1.0 + MARGIN) / n.max(1))
    }

    /// One request every `interval`.
    pub fn with_interval(interval: Duration) -> RateLimiter {
        RateLimiter {
            interval,
            next: Mutex::new(None),
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Reserve the next free slot and return when it starts.
    pub fn reserve(&self) -> Instant {
        let now = Instant::now();
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let at = next.map_or(now, |n| n.max(now));
        *next = Some(at + self.interval);
        at
    }

    /// Wait for the next free slot.
    pub async fn until_ready(&self) {
        tokio::time::sleep_until(self.reserve()).await;
    }
}

/// A shared "not before" instant, pushed forward by `Retry-After`.
#[derive(Debug, Default)]
pub struct Gate {
    until: Mutex<Option<Instant>>,
}

impl Gate {
    /// Hold new requests for `d` from now (never shortens a longer pause).
    pub fn pause(&self, d: Duration) {
        let t = Instant::now() + d;
        let mut u = self.until.lock().unwrap_or_else(|e| e.into_inner());
        if u.is_none_or(|x| x < t) {
            *u = Some(t);
        }
    }

    /// Wait until the pause, if any, is over.
    pub async fn wait(&self) {
        let until = *self.until.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = until {
            tokio::time::sleep_until(t).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_spaced_by_the_interval() {
        let l = RateLimiter::per_minute(120);
        assert_eq!(l.interval(), Duration::from_millis(505));
        let t0 = l.reserve();
        let slots: Vec<_> = (0..3).map(|_| l.reserve() - t0).collect();
        assert_eq!(slots, [505, 1010, 1515].map(Duration::from_millis).to_vec());
        // After a quiet spell the next request goes at once, with no burst credit.
        let l = RateLimiter::with_interval(Duration::from_millis(20));
        l.reserve();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let before = Instant::now();
        let a = l.reserve();
        assert!(a >= before && a - before < Duration::from_millis(5));
        assert_eq!(l.reserve(), a + Duration::from_millis(20));
    }

    #[tokio::test]
    async fn gate_holds_until_the_longest_pause() {
        let g = Gate::default();
        let t0 = Instant::now();
        g.pause(Duration::from_millis(60));
        g.pause(Duration::from_millis(10));
        g.wait().await;
        assert!(Instant::now() - t0 >= Duration::from_millis(60));
    }
}
