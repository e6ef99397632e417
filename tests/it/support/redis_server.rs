//! A throwaway `redis-server` for tests and examples: started on a free loopback port, nothing persisted,
//! killed on drop.
//!
//! The one copy of it: the integration tests have it as `support::redis_server`, the CLI's tests
//! (`cli/tests/cli.rs`) and the examples that need a Redis (`examples/callback_queue.rs`,
//! `examples/limits_bench.rs`) include this file with `#[path]`. So it uses only `std` (no `redis` crate,
//! which the CLI's tests do not have), and its scratch directory comes from `CARGO_TARGET_TMPDIR` where
//! Cargo sets one (tests), else the system's temporary directory (examples).
#![allow(dead_code)]
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server` owned by one test.
pub(crate) struct RedisServer {
    child: Option<Child>,
    port: u16,
    bin: String,
    /// `--appendonly` / `--appendfsync` / `--dir` for a server that keeps its data across `restart`.
    persistence: Vec<String>,
}

impl RedisServer {
    /// Starts one. Without the `redis-server` binary: `None` and a message (outside CI), a panic in CI
    /// (`.ci/run` installs it), so CI never skips the Redis tests silently.
    pub(crate) fn start() -> Option<RedisServer> {
        Self::start_with(Vec::new(), None)
    }

    /// Starts one on `port` and nowhere else (a test of this starter): `None` when the port is taken.
    pub(crate) fn start_on(port: u16) -> Option<RedisServer> {
        Self::start_with(Vec::new(), Some(port))
    }

    /// Starts one that keeps every acknowledged write across [`restart`](Self::restart) (an append-only
    /// file synced on every write, in a fresh directory under the target's tmp dir).
    pub(crate) fn start_persistent() -> Option<RedisServer> {
        let dir = scratch_dir().join(format!("redis-aof-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        Self::start_with(
            vec![
                "--appendonly".into(),
                "yes".into(),
                "--appendfsync".into(),
                "always".into(),
                "--dir".into(),
                dir.to_string_lossy().into_owned(),
            ],
            None,
        )
    }

    fn start_with(persistence: Vec<String>, only_port: Option<u16>) -> Option<RedisServer> {
        let bin = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .map(String::from)
            .or_else(|| {
                let ok = Command::new("redis-server")
                    .arg("--version")
                    .stdout(Stdio::null())
                    .status()
                    .is_ok();
                ok.then(|| "redis-server".to_string())
            });
        let Some(bin) = bin else {
            if std::env::var_os("CI").is_some() {
                panic!("redis-server is not installed (CI must install it: apt-get install -y redis-server)");
            }
            eprintln!("SKIPPED: redis-server is not installed; `apt-get install -y redis-server` runs this");
            return None;
        };
        let mut server = RedisServer {
            child: None,
            port: free_port(),
            bin,
            persistence,
        };
        if let Some(port) = only_port {
            server.port = port;
            return server.launch().then_some(server);
        }
        // The port was free a moment ago; another process may take it before redis-server binds it (then our
        // server exits, or a foreign listener answers). `launch` tells, and a new port is tried.
        for _ in 0..5 {
            if server.launch() {
                return Some(server);
            }
            server.port = free_port();
        }
        panic!("redis-server could not listen on a free loopback port in 5 attempts");
    }

    /// Starts the server on `self.port` and waits until it answers there as itself (its `INFO` names the
    /// child's pid). `false` when it exited or another process answers on the port (it lost the port).
    fn launch(&mut self) -> bool {
        let port = self.port;
        let mut command = Command::new(&self.bin);
        command.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""]);
        if self.persistence.is_empty() {
            command.args(["--appendonly", "no", "--dir"]).arg(scratch_dir());
        } else {
            command.args(&self.persistence);
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            match server_pid(port) {
                Some(p) if p == pid => break,
                Some(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return false;
                }
                None => {}
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on {port} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
        true
    }

    /// Starts the server again on the same port (after [`stop`](Self::stop)); with
    /// [`start_persistent`](Self::start_persistent) it comes back with its data.
    pub(crate) fn restart(&mut self) {
        self.stop();
        assert!(
            self.launch(),
            "redis-server could not listen on its port {} again",
            self.port
        );
    }

    /// `redis://127.0.0.1:<port>/`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port it listens on.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server now (to test what happens when Redis goes away).
    pub(crate) fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback port nobody listens on right now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Where a server may write: the target's tmp dir under `cargo test`, else the system's temporary directory.
fn scratch_dir() -> PathBuf {
    option_env!("CARGO_TARGET_TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

/// The pid of the Redis server listening on `port` (its `INFO server`), or `None` when nothing answers yet.
fn server_pid(port: u16) -> Option<u32> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    // Short: a listener that is not Redis never answers, and `launch` asks again (until its deadline) when
    // this finds no pid, so a slow answer only costs another round.
    stream.set_read_timeout(Some(Duration::from_millis(250))).ok()?;
    stream.write_all(b"INFO server\r\n").ok()?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !answer.windows(11).any(|w| w == b"process_id:") || !answer.ends_with(b"\r\n") {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&answer);
    let line = text.lines().find_map(|l| l.strip_prefix("process_id:"))?;
    line.trim().parse().ok()
}
