//! Signed, encrypted callbacks as WeCom sends them, and a router served on loopback: for the callback
//! queue tests (in-process and multi-process).
#![allow(dead_code)]

use reqwest::StatusCode;
use wecom_externalcontact::callback::{CallbackCrypto, SignedCallback};

pub(crate) const TOKEN: &str = "QDG6eK";
pub(crate) const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
pub(crate) const CORP: &str = "ww-queue-test";

pub(crate) fn crypto() -> CallbackCrypto {
    CallbackCrypto::new(TOKEN, KEY, CORP).unwrap()
}

/// Event `seq` of customer `customer`: `add_external_contact` first, then edits, then `del_follow_user`;
/// `FromUserName` `sys` and one fixed `CreateTime` (as WeCom sends them), `<Seq>` telling them apart.
pub(crate) fn contact_event(customer: usize, seq: usize) -> String {
    let change = match seq {
        0 => "add_external_contact",
        4 => "del_follow_user",
        _ => "edit_external_contact",
    };
    format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
         <CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[{change}]]></ChangeType>\
         <UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[wm-{customer}]]></ExternalUserID>\
         <Seq>{seq}</Seq></xml>"
    )
}

/// `(customer, seq)` of an event made by [`contact_event`].
pub(crate) fn customer_and_seq(event: &wecom_externalcontact::callback::Event) -> (usize, usize) {
    let json = serde_json::to_value(event).unwrap();
    let customer = json["ExternalUserID"].as_str().unwrap().trim_start_matches("wm-");
    let seq = json["Seq"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| json["Seq"].to_string());
    (customer.parse().unwrap(), seq.parse().unwrap())
}

/// One encrypted, signed delivery: the query and the body WeCom would send, built by the crate's
/// [`CallbackCrypto::sign_xml`] and kept as plain fields so a test can tamper with them.
#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub query: Vec<(&'static str, String)>,
    pub body: String,
}

impl From<SignedCallback> for Delivery {
    fn from(signed: SignedCallback) -> Delivery {
        Delivery {
            query: signed
                .query_pairs()
                .map(|(name, value)| (name, value.to_owned()))
                .to_vec(),
            body: signed.body(),
        }
    }
}

/// `plaintext` signed and encrypted with a timestamp of now on the runtime's clock.
pub(crate) fn deliver(crypto: &CallbackCrypto, plaintext: &str) -> Delivery {
    crypto.sign_xml(plaintext).unwrap().into()
}

/// `plaintext` signed and encrypted with this timestamp (a replay, a clock skew).
pub(crate) fn deliver_at(crypto: &CallbackCrypto, plaintext: &str, timestamp: &str) -> Delivery {
    crypto.sign_xml_at(plaintext, timestamp, "1372623149").unwrap().into()
}

/// POSTs a delivery; a connection failure (a receiver that is gone) is `None`.
pub(crate) async fn post(http: &reqwest::Client, url: &str, delivery: &Delivery) -> Option<StatusCode> {
    let response = http
        .post(url)
        .query(&delivery.query)
        .body(delivery.body.clone())
        .send()
        .await
        .ok()?;
    Some(response.status())
}

/// A router served on a free loopback port until dropped.
pub(crate) struct Server {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) async fn serve(router: axum::Router) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Server { url, task }
}
