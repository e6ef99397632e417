//! [`RedisTokenStore`]: tokens shared by a fleet of processes through Redis (cargo feature `redis`).

use super::{CachedToken, FetchFailure, TokenStore};
use crate::clock::Instant;
use crate::{Error, Result};
use futures_core::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::OnceCell;

/// The default key prefix.
pub const DEFAULT_KEY_PREFIX: &str = "wecom:";

const CLEAR_IF: &str = r"
local v = redis.call('GET', KEYS[1])
if v then
  local ok, t = pcall(cjson.decode, v)
  if ok and t['token'] == ARGV[1] then
    return redis.call('DEL', KEYS[1])
  end
end
return 0";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// A [`TokenStore`] in Redis, so that every process of a fleet uses one token per app and one fetch per
/// expiry: `Client::builder().token_store(Arc::new(RedisTokenStore::new("redis://127.0.0.1/")?))`.
///
/// - Connects lazily on first use, through the `redis` crate's tokio connection manager (reconnects by
///   itself). While Redis is unreachable, calls fail fast for a second at a time and the client fetches
///   tokens directly (one `warn!` per outage).
/// - Keys are `<prefix><key>` (default prefix [`DEFAULT_KEY_PREFIX`]); a provider's key names the corp id and
///   a fingerprint of the secret, never the secret. Values are the [`CachedToken`] as JSON, expiring in Redis
///   when the token does (`PX`).
/// - Leases are `<prefix><key>:lease` taken with `SET NX PX` and a random owner value; only the owner
///   releases (a Lua compare-and-delete), and `clear_if` is a compare-and-delete as well.
/// - A refused fetch is shared as `<prefix><key>:failure` (a [`FetchFailure`] as JSON, `PX`), so that the
///   fleet waits out one backoff instead of every process asking WeCom again.
pub struct RedisTokenStore {
    client: redis::Client,
    prefix: String,
    manager: OnceCell<ConnectionManager>,
    down_until: Mutex<Option<Instant>>,
    timeout: Duration,
}

impl std::fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection info may hold a password: show only the prefix.
        f.debug_struct("RedisTokenStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn store_error(e: &redis::RedisError) -> Error {
    // Redis errors name the failing command's kind and the server's message, not the URL or a value.
    Error::Store(format!("redis: {e}"))
}

impl RedisTokenStore {
    /// A store for the Redis at `url` (`redis://[:password@]host[:port][/db]`). Nothing is connected yet; a
    /// malformed URL is an [`Error::Config`].
    pub fn new(url: &str) -> Result<RedisTokenStore> {
        let client =
            redis::Client::open(url).map_err(|e| Error::Config(format!("not a Redis URL ({})", e.category())))?;
        Ok(RedisTokenStore {
            client,
            prefix: DEFAULT_KEY_PREFIX.to_string(),
            manager: OnceCell::new(),
            down_until: Mutex::new(None),
            timeout: Duration::from_secs(1),
        })
    }

    /// Sets the key prefix (default [`DEFAULT_KEY_PREFIX`]), e.g. to separate environments sharing a Redis.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the connect and response timeout of Redis commands (default 1 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The Redis key of a token key.
    pub fn redis_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn conn(&self) -> Result<ConnectionManager> {
        if let Some(until) = *self.down_until.lock().unwrap_or_else(|p| p.into_inner())
            && Instant::now() < until
        {
            return Err(Error::Store("redis: unreachable (retrying shortly)".into()));
        }
        let manager = self
            .manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(200));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config).map_err(|e| store_error(&e))
            })
            .await?;
        Ok(manager.clone())
    }

    /// Runs a command, noting an outage so that the next calls fail fast for a second.
    async fn run<T: redis::FromRedisValue>(&self, cmd: Command<'_>) -> Result<T> {
        let mut conn = self.conn().await?;
        let out = match cmd {
            Command::Plain(c) => c.query_async(&mut conn).await,
            Command::Script(s, keys, args) => {
                let mut inv = s.prepare_invoke();
                for k in keys {
                    inv.key(k);
                }
                for a in args {
                    inv.arg(a);
                }
                inv.invoke_async(&mut conn).await
            }
        };
        let mut down = self.down_until.lock().unwrap_or_else(|p| p.into_inner());
        match out {
            Ok(v) => {
                *down = None;
                Ok(v)
            }
            Err(e) => {
                if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
                    *down = Some(Instant::now() + Duration::from_secs(1));
                }
                Err(store_error(&e))
            }
        }
    }
}

impl RedisTokenStore {
    /// Runs `script` (a Lua script of the rate budgets, `crate::limits`) with `keys` (token-store keys,
    /// prefixed here) and `args`, through the same connection and outage handling as the token commands.
    #[allow(dead_code)] // used by the fleet budgets
    pub(crate) async fn run_script<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        keys: &[String],
        args: &[String],
    ) -> Result<T> {
        let keys = keys.iter().map(|k| self.redis_key(k)).collect();
        let args = args.iter().map(String::as_str).collect();
        self.run(Command::Script(script.clone(), keys, args)).await
    }
}

enum Command<'a> {
    Plain(redis::Cmd),
    Script(redis::Script, Vec<String>, Vec<&'a str>),
}

impl TokenStore for RedisTokenStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<CachedToken>>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GET");
            cmd.arg(self.redis_key(key));
            let raw: Option<String> = self.run(Command::Plain(cmd)).await?;
            match raw {
                None => Ok(None),
                // A value this store did not write is treated as absent (and overwritten by the next fetch).
                Some(s) => Ok(serde_json::from_str::<CachedToken>(&s).ok()),
            }
        })
    }

    fn set<'a>(&'a self, key: &'a str, token: &'a CachedToken) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let ttl = u64::try_from(token.remaining().as_millis()).unwrap_or(u64::MAX);
            if ttl == 0 {
                return Ok(());
            }
            let value =
                serde_json::to_string(token).map_err(|e| Error::Store(format!("cannot encode a token: {e}")))?;
            let mut cmd = redis::cmd("SET");
            cmd.arg(self.redis_key(key)).arg(value).arg("PX").arg(ttl);
            self.run::<()>(Command::Plain(cmd)).await
        })
    }

    fn clear_if<'a>(&'a self, key: &'a str, failed: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let n: i64 = self
                .run(Command::Script(
                    redis::Script::new(CLEAR_IF),
                    vec![self.redis_key(key)],
                    vec![failed],
                ))
                .await?;
            Ok(n > 0)
        })
    }

    fn try_lease<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            cmd.arg(self.redis_key(&format!("{key}:lease")))
                .arg(owner)
                .arg("NX")
                .arg("PX")
                .arg(ms);
            let ok: Option<String> = self.run(Command::Plain(cmd)).await?;
            Ok(ok.is_some())
        })
    }

    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let _: i64 = self
                .run(Command::Script(
                    redis::Script::new(RELEASE),
                    vec![self.redis_key(&format!("{key}:lease"))],
                    vec![owner],
                ))
                .await?;
            Ok(())
        })
    }

    fn get_failure<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<FetchFailure>>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GET");
            cmd.arg(self.redis_key(&format!("{key}:failure")));
            let raw: Option<String> = self.run(Command::Plain(cmd)).await?;
            // A value this store did not write is treated as absent.
            Ok(raw.and_then(|s| serde_json::from_str::<FetchFailure>(&s).ok()))
        })
    }

    fn set_failure<'a>(
        &'a self,
        key: &'a str,
        failure: Option<&'a FetchFailure>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let redis_key = self.redis_key(&format!("{key}:failure"));
            let mut cmd;
            match failure {
                Some(f) => {
                    let value = serde_json::to_string(f)
                        .map_err(|e| Error::Store(format!("cannot encode a fetch failure: {e}")))?;
                    let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
                    cmd = redis::cmd("SET");
                    cmd.arg(redis_key).arg(value).arg("PX").arg(ms);
                }
                None => {
                    cmd = redis::cmd("DEL");
                    cmd.arg(redis_key);
                }
            }
            self.run::<()>(Command::Plain(cmd)).await
        })
    }
}
