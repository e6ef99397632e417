//! A callback server with axum: GET answers WeCom's URL verification, POST verifies and decrypts the event,
//! answers `success` at once and hands the typed event to a worker. On `add_external_contact` with a
//! WelcomeCode the worker sends the welcome message (WeCom allows 20 seconds, and the code works once).
//!
//! With `WECOM_CORP_ID`, `WECOM_SECRET`, `WECOM_CALLBACK_TOKEN` and `WECOM_CALLBACK_AES_KEY` set it serves
//! `POST/GET /callback` on `0.0.0.0:${PORT:-8080}` until stopped. Without them it runs a self-contained demo: it
//! starts the embedded stand-in for WeCom, serves the callback on loopback, sends itself a URL verification
//! and an encrypted `add_external_contact` event, and shows the welcome message reaching the stand-in.
//!
//! ```text
//! cargo run --example callback_server
//! ```
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use tokio::sync::mpsc;
use wecom_externalcontact::callback::{CallbackCrypto, CallbackQuery, Event, EventKind};
use wecom_externalcontact::models::{SendWelcomeMsgRequest, Text};
use wecom_externalcontact::standin::StandIn;
use wecom_externalcontact::Client;

#[derive(Clone)]
struct AppState {
    crypto: Arc<CallbackCrypto>,
    events: mpsc::Sender<Event>,
}

/// GET: URL verification. Answers the decrypted echostr.
async fn verify(State(app): State<AppState>, Query(q): Query<CallbackQuery>) -> Result<String, StatusCode> {
    app.crypto.verify_url_query(&q).map_err(|e| {
        eprintln!("refused a URL verification: {e}");
        StatusCode::FORBIDDEN
    })
}

/// POST: an event. Verified, decrypted, typed, queued; WeCom gets `success` right away.
async fn receive(
    State(app): State<AppState>,
    Query(q): Query<CallbackQuery>,
    body: String,
) -> Result<&'static str, StatusCode> {
    let xml = app.crypto.decrypt_message_query(&q, &body).map_err(|e| {
        eprintln!("refused a callback: {e}");
        StatusCode::FORBIDDEN
    })?;
    let event = Event::from_xml(&xml).map_err(|e| {
        eprintln!("undecodable event: {e}");
        StatusCode::BAD_REQUEST
    })?;
    // A full queue must not make WeCom wait (it retries after 5 s): drop with a log line instead.
    if app.events.try_send(event).is_err() {
        eprintln!("event queue full; event dropped");
    }
    Ok("success")
}

/// The worker: reacts to events off the request path.
async fn worker(client: Client, mut events: mpsc::Receiver<Event>, done: Option<mpsc::Sender<()>>) {
    while let Some(event) = events.recv().await {
        match &event.kind {
            EventKind::AddExternalContact {
                user_id,
                external_user_id,
                welcome_code: Some(code),
                ..
            } => {
                let text = Text::new().content(format!("您好，我是{user_id}，很高兴为您服务。"));
                match client
                    .send_welcome_msg(&SendWelcomeMsgRequest::new(code.clone()).text(text))
                    .await
                {
                    Ok(_) => println!("welcome message sent to {external_user_id} on behalf of {user_id}"),
                    Err(e) => eprintln!("welcome message to {external_user_id} failed: {e}"),
                }
                if let Some(done) = &done {
                    let _ = done.send(()).await;
                }
            }
            other => println!("event {:?} / {:?}: {other:?}", event.event_name(), event.change_type()),
        }
    }
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/callback", get(verify).post(receive))
        .with_state(state)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(corp_id), Some(secret), Some(token), Some(key)) = (
        env("WECOM_CORP_ID"),
        env("WECOM_SECRET"),
        env("WECOM_CALLBACK_TOKEN"),
        env("WECOM_CALLBACK_AES_KEY"),
    ) {
        let crypto = Arc::new(CallbackCrypto::new(&token, &key, &corp_id)?);
        let client = Client::builder().corp_id(corp_id).secret(secret).build()?;
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(worker(client, rx, None));
        let port = env("PORT").unwrap_or_else(|| "8080".into());
        let listener = tokio::net::TcpListener::bind(format!("0.0.0.0:{port}")).await?;
        println!("serving WeCom callbacks on http://{}/callback", listener.local_addr()?);
        axum::serve(listener, router(AppState { crypto, events: tx })).await?;
        return Ok(());
    }

    // Demo: everything on loopback.
    let standin = StandIn::start().await?;
    println!(
        "No credentials set: using the embedded stand-in for WeCom at {}.",
        standin.base_url()
    );
    let (token, key) = ("demo-token", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C");
    let crypto = Arc::new(CallbackCrypto::new(token, key, standin.corp_id())?);
    let (tx, rx) = mpsc::channel(1024);
    let (done_tx, mut done_rx) = mpsc::channel(1);
    tokio::spawn(worker(standin.client(), rx, Some(done_tx)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/callback", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router(AppState { crypto, events: tx })).await });
    println!("Callback server at {url}");

    // WeCom's side, played by this program with the same token and key.
    let wecom = CallbackCrypto::new(token, key, standin.corp_id())?;
    let http = reqwest::Client::new();
    let (timestamp, nonce) = ("1409659589", "263014780");

    let echostr = wecom.encrypt("echo-1616140317555161061")?;
    let sig = wecom.signature(timestamp, nonce, &echostr);
    let answer = http
        .get(&url)
        .query(&[
            ("msg_signature", sig.as_str()),
            ("timestamp", timestamp),
            ("nonce", nonce),
            ("echostr", echostr.as_str()),
        ])
        .send()
        .await?
        .text()
        .await?;
    println!("URL verification answered: {answer}");

    let event = format!(
        "<xml><ToUserName><![CDATA[{corp}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
         <CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>\
         <UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA]]></ExternalUserID>\
         <State><![CDATA[ad-campaign-7]]></State><WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode></xml>",
        corp = standin.corp_id()
    );
    let encrypted = wecom.encrypt(&event)?;
    let sig = wecom.signature(timestamp, nonce, &encrypted);
    let body = format!("<xml><ToUserName><![CDATA[{}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>", standin.corp_id());
    let reply = http
        .post(&url)
        .query(&[
            ("msg_signature", sig.as_str()),
            ("timestamp", timestamp),
            ("nonce", nonce),
        ])
        .body(body)
        .send()
        .await?
        .text()
        .await?;
    println!("Event POST answered: {reply}");

    tokio::time::timeout(std::time::Duration::from_secs(10), done_rx.recv()).await?;
    let sent = standin
        .requests()
        .into_iter()
        .find(|r| r.path == "externalcontact/send_welcome_msg")
        .ok_or("no welcome message reached the stand-in")?;
    println!(
        "The stand-in received send_welcome_msg with {}",
        sent.json.unwrap_or_default()
    );
    Ok(())
}
