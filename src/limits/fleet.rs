//! Budgets shared by a fleet through Redis (cargo feature `redis`): one atomic Lua step per call (or per
//! leased batch of permits) runs the GCRA of every window of the call on the Redis server's clock, and checks
//! the endpoint's 45009 hold in the same round trip.

use crate::token::RedisTokenStore;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// KEYS[1]: the hold (a `FetchFailure` as JSON); KEYS[2..]: one GCRA state (a TAT in µs) per window.
/// ARGV[1]: permits to take; then (period µs, tolerance µs) per window. Returns {0, 0} (granted), {1, µs} (the
/// budget has no permit for that long) or {2, µs} (held for that long). All windows or none are charged.
const STEP: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local h = redis.call('GET', KEYS[1])
if h then
  local ok, f = pcall(cjson.decode, h)
  if ok and type(f) == 'table' and tonumber(f['retry_at_ms']) then
    local left = tonumber(f['retry_at_ms']) * 1000 - now
    if left > 0 then return {2, left} end
  end
end
local n = tonumber(ARGV[1])
local wait = 0
local tats = {}
for i = 2, #KEYS do
  local period = tonumber(ARGV[2 * i - 2])
  local tau = tonumber(ARGV[2 * i - 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  if tat < now then tat = now end
  local w = tat + (n - 1) * period - tau - now
  if w > wait then wait = w end
  tats[i] = tat
end
if wait > 0 then return {1, wait} end
for i = 2, #KEYS do
  local period = tonumber(ARGV[2 * i - 2])
  local new = tats[i] + n * period
  redis.call('SET', KEYS[i], string.format('%.0f', new), 'PX', math.floor((new - now) / 1000) + 1000)
end
return {0, 0}";

fn script() -> &'static redis::Script {
    static S: OnceLock<redis::Script> = OnceLock::new();
    S.get_or_init(|| redis::Script::new(STEP))
}

/// What the fleet's step said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Granted.
    Granted,
    /// No permit for this long.
    Wait(Duration),
    /// The endpoint is held (45009) for this long.
    Held(Duration),
}

/// One window of a call: its key and its GCRA (period, burst).
pub(crate) struct Window {
    pub(crate) key: String,
    pub(crate) period: Duration,
    pub(crate) burst: u32,
}

/// The fleet's shared budgets.
pub(crate) struct Fleet {
    pub(crate) store: Arc<RedisTokenStore>,
    /// Permits taken per round trip (1: one step per call).
    pub(crate) batch: u32,
    /// Leased permits left, by call key, and when they lapse.
    leases: Mutex<HashMap<String, (u32, crate::clock::Instant)>>,
    /// Whether Redis is down (one `warn!` per outage).
    down: AtomicBool,
}

impl Fleet {
    pub(crate) fn new(store: Arc<RedisTokenStore>, batch: u32) -> Self {
        Fleet {
            store,
            batch: batch.max(1),
            leases: Mutex::new(HashMap::new()),
            down: AtomicBool::new(false),
        }
    }

    /// One step for the call `lease_key` over `windows`, with the hold at `hold_key`. `Err` when Redis fails.
    pub(crate) async fn step(&self, lease_key: &str, hold_key: &str, windows: &[Window]) -> crate::Result<Step> {
        if self.batch > 1 {
            let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((left, until)) = leases.get_mut(lease_key)
                && *left > 0
                && crate::clock::now() < *until
            {
                *left -= 1;
                return Ok(Step::Granted);
            }
        }
        let mut keys = Vec::with_capacity(windows.len() + 1);
        keys.push(format!("{hold_key}:failure"));
        let mut args = vec![self.batch.to_string()];
        for w in windows {
            keys.push(format!("budget:{}", w.key));
            let period = w.period.as_micros().max(1);
            args.push(period.to_string());
            args.push((period * u128::from(w.burst.saturating_sub(1))).to_string());
        }
        let out: (i64, i64) = match self.store.run_script(script(), &keys, &args).await {
            Ok(v) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis is back: the fleet's rate budgets are shared again");
                }
                v
            }
            Err(e) => {
                if !self.down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "Redis is unreachable: each process keeps to its fallback share of the rate budgets until it is back");
                }
                return Err(e);
            }
        };
        let micros = Duration::from_micros(u64::try_from(out.1).unwrap_or(0));
        Ok(match out.0 {
            0 => {
                if self.batch > 1 {
                    // Leased permits lapse after the shortest window's period times the batch: never used late.
                    let lapse = windows.iter().map(|w| w.period).min().unwrap_or_default() * self.batch;
                    self.leases
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(lease_key.to_string(), (self.batch - 1, crate::clock::now() + lapse));
                }
                Step::Granted
            }
            2 => Step::Held(micros),
            _ => Step::Wait(micros.max(Duration::from_micros(50))),
        })
    }
}
