//! `wecom callback verify|decrypt`: check and open a captured callback; `wecom callback queue …`: the durable
//! queue.

use crate::fail::Fail;
use clap::{Args, Subcommand};
use std::io::{IsTerminal, Read};
use wecom_externalcontact::callback::{CallbackCrypto, CallbackQuery, Event};

#[derive(Subcommand, Debug)]
pub enum CallbackCommand {
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
pub struct Keys {
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
    CallbackQuery::parse(q).map_err(|e| Fail::usage(e.to_string()))
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
pub async fn run(cmd: CallbackCommand) -> Result<(), Fail> {
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
