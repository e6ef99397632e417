//! Failures of a command: a message for stderr and an exit code.

use std::fmt;
use wecom_externalcontact::Error;

/// The exit codes, for `--help`.
pub(crate) const EXIT_CODES: &str =
    "Exit codes: 0 success; 1 WeCom answered with an error (or a callback failed its check); \
2 bad usage or input; 3 configuration missing or wrong; 4 network, timeout or an answer that does not decode.";

/// WeCom answered with an errcode, or a callback did not verify.
pub(crate) const EXIT_API: i32 = 1;
/// Bad arguments or input (clap uses 2 too).
pub(crate) const EXIT_USAGE: i32 = 2;
/// Missing or wrong configuration, a file that cannot be read or written.
pub(crate) const EXIT_CONFIG: i32 = 3;
/// The network, a timeout, or an answer that does not decode.
pub(crate) const EXIT_TRANSPORT: i32 = 4;

/// Why a command failed. The message never holds a secret: the crate's errors never do, and the CLI's
/// own messages name variables, not their values.
#[derive(Debug)]
pub struct Fail {
    /// The exit code.
    pub code: i32,
    /// What to print on stderr.
    pub message: String,
}

impl Fail {
    /// Bad usage or input.
    pub fn usage(message: impl Into<String>) -> Fail {
        Fail {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }

    /// Missing or wrong configuration.
    pub fn config(message: impl Into<String>) -> Fail {
        Fail {
            code: EXIT_CONFIG,
            message: message.into(),
        }
    }

    /// Writing the output failed.
    pub fn io(e: std::io::Error) -> Fail {
        Fail::config(format!("cannot write the output: {e}"))
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        let code = match &e {
            Error::Api { .. } | Error::Callback(_) => EXIT_API,
            Error::InvalidRequest { .. } => EXIT_USAGE,
            Error::Config(_) => EXIT_CONFIG,
            _ => EXIT_TRANSPORT,
        };
        Fail {
            code,
            message: e.to_string(),
        }
    }
}

/// Prints the failure on stderr and exits with its code. A closed stdout (`wecom … | head`) exits quietly.
pub(crate) fn exit(f: Fail) -> ! {
    if !f.message.contains("Broken pipe") {
        eprintln!("wecom: error: {}", f.message);
    }
    std::process::exit(f.code)
}
