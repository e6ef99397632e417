//! `wecom callback verify|decrypt`: check and open a captured callback; `wecom callback queue …`: the durable
//! queue.

use crate::fail::Fail;
use clap::{Args, Subcommand};
use std::io::{IsTerminal, Read};
use wecom_externalcontact::callback::{CallbackCrypto, CallbackQuery, Event, ReplayWindow, TimestampAge};
use wecom_externalcontact::clock;

#[derive(Subcommand, Debug)]
pub(crate) enum CallbackCommand {
    /// Answer a URL-verification GET: check the signature over echostr and print the decrypted echostr.
    #[command(after_help = VERIFY_HELP)]
    Verify {
        /// The request's query string (msg_signature, timestamp, nonce, echostr), with or without the
        /// leading `?` or the whole URL.
        #[arg(long, short)]
        query: String,
        #[command(flatten)]
        keys: Keys,
    },
    /// Check and decrypt a callback POST: prints the decrypted message (XML, or JSON for JSON receivers).
    #[command(after_help = DECRYPT_HELP)]
    Decrypt {
        /// The request's query string (msg_signature, timestamp, nonce), with or without the leading `?` or
        /// the whole URL.
        #[arg(long, short)]
        query: String,
        /// A file holding the POST body; `-` or absent reads stdin.
        body: Option<std::path::PathBuf>,
        /// Print the typed event as JSON instead of the decrypted XML.
        #[arg(long)]
        event: bool,
        #[command(flatten)]
        keys: Keys,
    },
    /// Inspect the durable callback queue in Redis (WECOM_REDIS_URL): stats, dead letters, replay.
    #[command(subcommand)]
    Queue(crate::queue::QueueCommand),
}

const VERIFY_HELP: &str = "\
Examples:
  export WECOM_CALLBACK_TOKEN=… WECOM_CALLBACK_AES_KEY=…
  export WECOM_CALLBACK_RECEIVE_ID=ww…   # or WECOM_CORP_ID
  wecom callback verify --query 'msg_signature=…&timestamp=…&nonce=…&echostr=…'

Exit codes: 0 verified (the echostr is printed); 1 the signature, ciphertext or
receive id does not check; 2 bad usage or a query without the parameters;
3 token, key or receive id missing or the key malformed.";

const DECRYPT_HELP: &str = "\
Examples:
  wecom callback decrypt --query 'msg_signature=…&timestamp=…&nonce=…' body.xml
  wecom callback decrypt --event --query \"$QUERY\" < body.xml | jq .kind

Exit codes: 0 decrypted; 1 the signature, ciphertext or receive id does not
check, or the message is not a callback event (--event); 2 bad usage or a query
without the parameters; 3 token, key or receive id missing.";

/// The receiver's Token, EncodingAESKey and receive id. Values from the environment are not shown in help.
#[derive(Args, Debug)]
pub(crate) struct Keys {
    /// The callback Token from the admin console.
    #[arg(long, env = "WECOM_CALLBACK_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The callback EncodingAESKey (43 characters).
    #[arg(long = "aes-key", env = "WECOM_CALLBACK_AES_KEY", hide_env_values = true)]
    aes_key: Option<String>,
    /// The receive id: the corp id for a self-built app's callbacks, the suite id for a suite's.
    #[arg(long = "receive-id", env = "WECOM_CALLBACK_RECEIVE_ID")]
    receive_id: Option<String>,
}

impl Keys {
    fn crypto(&self) -> Result<CallbackCrypto, Fail> {
        let need = |v: &Option<String>, what: &str| {
            v.clone()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Fail::config(format!("{what} is missing")))
        };
        let token = need(&self.token, "the callback token (--token or WECOM_CALLBACK_TOKEN)")?;
        let key = need(
            &self.aes_key,
            "the EncodingAESKey (--aes-key or WECOM_CALLBACK_AES_KEY)",
        )?;
        let receive_id = match need(&self.receive_id, "") {
            Ok(r) => r,
            Err(_) => std::env::var("WECOM_CORP_ID")
                .ok()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    Fail::config("the receive id is missing (--receive-id, WECOM_CALLBACK_RECEIVE_ID or WECOM_CORP_ID)")
                })?,
        };
        // The crate's error names what is wrong with the key, never the key.
        CallbackCrypto::new(&token, &key, &receive_id).map_err(|e| Fail::config(e.to_string()))
    }
}

fn parse_query(q: &str) -> Result<CallbackQuery, Fail> {
    let q = q.trim();
    let q = q.split_once('?').map_or(q, |(_, rest)| rest);
    let q = CallbackQuery::parse(q).map_err(|e| Fail::usage(e.to_string()))?;
    if let Some(note) = window_note(&q.timestamp, clock::unix_secs()) {
        eprintln!("{note}");
    }
    Ok(q)
}

/// A note on stderr when a captured request's signed timestamp is outside the router's default replay window:
/// information for debugging (the command still checks and opens the request), since the router would refuse
/// the same request with 403 as a replay.
fn window_note(timestamp: &str, now_secs: u64) -> Option<String> {
    let outside = match ReplayWindow::DEFAULT.age(timestamp, now_secs) {
        Ok(TimestampAge::TooOld { age_secs }) => format!("signed {age_secs} s ago"),
        Ok(TimestampAge::InTheFuture { ahead_secs }) => format!("signed {ahead_secs} s in the future"),
        Ok(_) => return None,
        Err(_) => "its timestamp is not a number of seconds".to_string(),
    };
    Some(format!(
        "note: this request is outside the default replay window (5 min into the past, 60 s into the future): \
         {outside}; a router with the default window would refuse it with 403 (checked and opened anyway)"
    ))
}

fn read_body(path: Option<&std::path::Path>) -> Result<String, Fail> {
    match path.filter(|p| p.as_os_str() != "-") {
        Some(p) => std::fs::read_to_string(p).map_err(|e| Fail::config(format!("cannot read {}: {e}", p.display()))),
        None => {
            if std::io::stdin().is_terminal() {
                return Err(Fail::usage("give the POST body as a file or on stdin"));
            }
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Fail::usage(format!("cannot read stdin: {e}")))?;
            Ok(s)
        }
    }
}

/// Runs a callback command.
pub(crate) async fn run(cmd: CallbackCommand) -> Result<(), Fail> {
    match cmd {
        CallbackCommand::Queue(cmd) => crate::queue::run(cmd).await,
        CallbackCommand::Verify { query, keys } => {
            let crypto = keys.crypto()?;
            let q = parse_query(&query)?;
            let echo = crypto.verify_url_query(&q).map_err(Fail::from)?;
            println!("{echo}");
            Ok(())
        }
        CallbackCommand::Decrypt {
            query,
            body,
            event,
            keys,
        } => {
            let crypto = keys.crypto()?;
            let q = parse_query(&query)?;
            let body = read_body(body.as_deref())?;
            let plain = if body.trim_start().starts_with('{') {
                crypto.decrypt_json_message(&q.msg_signature, &q.timestamp, &q.nonce, &body)
            } else {
                crypto.decrypt_message_query(&q, &body)
            }
            .map_err(Fail::from)?;
            if event {
                let ev = if plain.trim_start().starts_with('{') {
                    Event::from_json(&plain)
                } else {
                    Event::from_xml(&plain)
                }
                .map_err(Fail::from)?;
                println!("{}", serde_json::to_string_pretty(&ev).unwrap_or_default());
            } else {
                println!("{plain}");
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::window_note;

    #[test]
    fn the_note_names_a_timestamp_outside_the_default_window() {
        let now = 1_800_000_000;
        assert!(window_note(&(now - 3600).to_string(), now)
            .unwrap()
            .contains("signed 3600 s ago"));
        assert!(window_note(&(now + 600).to_string(), now)
            .unwrap()
            .contains("600 s in the future"));
        assert!(window_note("yesterday", now).unwrap().contains("not a number"));
        assert_eq!(window_note(&(now - 299).to_string(), now), None);
        assert_eq!(window_note(&(now + 60).to_string(), now), None);
    }
}
