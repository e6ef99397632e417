//! The process-wide log capture shared by the test binaries that read every log line (`tests/logging.rs`,
//! `tests/drift.rs`): each installs it as its only subscriber, at TRACE, without colours.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// What the subscriber wrote, shared with the test.
#[derive(Clone, Default)]
pub(crate) struct Buffer(pub Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the subscriber once per process and returns its buffer.
pub(crate) fn capture() -> Buffer {
    static BUF: OnceLock<Buffer> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Buffer::default();
        let writer = buf.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init()
            .expect("the only subscriber of this test binary");
        buf
    })
    .clone()
}
