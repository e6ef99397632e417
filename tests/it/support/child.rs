//! Child processes of this test binary, for the tests that need several OS processes (a fleet sharing one
//! Redis): the child re-executes `std::env::current_exe()` running only one ignored test (`module::name`),
//! which reads its part from the environment the parent set.
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The command that runs only the ignored test `test` (e.g. `"fleet::fleet_child"`) of this binary, with
/// `env` set; stdout and stderr piped.
pub(crate) fn command(test: &str, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--ignored", "--exact", test, "--nocapture", "--test-threads=1"])
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for every child (off the async runtime's threads) and returns their outputs, in order.
pub(crate) async fn outputs(children: Vec<Child>) -> Vec<Output> {
    tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap()
}

/// A child process talked to line by line: its stdout lines on a channel, lines sent to its stdin; killed
/// (SIGKILL) when dropped.
pub(crate) struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Starts the ignored test `test` with `env` (its stderr discarded).
    pub(crate) fn spawn(test: &str, env: &[(&str, &str)]) -> Proc {
        let mut child = command(test, env)
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc { child, stdin, lines }
    }

    /// Sends one line to the child's stdin.
    pub(crate) fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// The first line containing `prefix` (what follows it), within 60 s.
    pub(crate) fn wait_for(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                // libtest prints `test … ... ` on the line the child's first output continues.
                Ok(line) if line.contains(prefix) => return after(&line, prefix),
                Ok(_) => {}
                Err(_) => panic!("no `{prefix}` line from the child within 60 s"),
            }
        }
    }

    /// The next line containing `prefix`, if one arrived already.
    pub(crate) fn poll(&self, prefix: &str) -> Option<String> {
        while let Ok(line) = self.lines.try_recv() {
            if line.contains(prefix) {
                return Some(after(&line, prefix));
            }
        }
        None
    }

    /// Kills the child with SIGKILL now.
    pub(crate) fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits (up to 60 s) for the child to exit on its own; `true` when it succeeded.
    pub(crate) fn exited_ok(&mut self) -> bool {
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            assert!(Instant::now() < deadline, "the child did not exit within 60 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// What follows `marker` in `line`.
fn after(line: &str, marker: &str) -> String {
    line.split_once(marker)
        .map(|(_, rest)| rest.trim().to_owned())
        .unwrap_or_default()
}
