//! A callback server with the crate's router (`callback::Endpoint`, feature `axum`): GET answers WeCom's URL
//! verification, POST verifies and decrypts the event, answers `success` at once and runs the handler in a
//! task, once per message however often WeCom delivers it. On `add_external_contact` with a WelcomeCode the
//! handler sends the welcome message (WeCom allows 20 seconds, and the code works once). On Ctrl-C the server
//! stops accepting and lets queued handlers finish.
//!
//! With `WECOM_CORP_ID`, `WECOM_SECRET`, `WECOM_CALLBACK_TOKEN` and `WECOM_CALLBACK_AES_KEY` set it serves
//! `POST/GET /callback` on `0.0.0.0:${PORT:-8080}` until stopped. Without them it runs a self-contained demo: it
//! starts the embedded stand-in for WeCom, serves the callback on loopback, sends itself a URL verification
//! and an encrypted `add_external_contact` event, and shows the welcome message reaching the stand-in.
//!
//! ```text
//! cargo run --example callback_server
//! ```
use std::time::Duration;
use tokio::sync::mpsc;
use wecom_externalcontact::callback::{CallbackCrypto, Endpoint, Event, EventKind};
use wecom_externalcontact::models::{SendWelcomeMsgRequest, Text};
use wecom_externalcontact::standin::StandIn;
use wecom_externalcontact::Client;

/// The handler: runs off the request path, once per distinct message.
async fn handle(client: Client, event: Event, done: Option<mpsc::Sender<()>>) {
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
            if let Some(done) = done {
                let _ = done.send(()).await;
            }
        }
        other => println!("event {:?} / {:?}: {other:?}", event.event_name(), event.change_type()),
    }
}

/// The callback router for `crypto`, its handler sending welcome messages with `client`.
fn endpoint(
    crypto: CallbackCrypto,
    client: Client,
    done: Option<mpsc::Sender<()>>,
) -> (axum::Router, wecom_externalcontact::callback::Shutdown) {
    // The replay window (5 minutes back, 60 s ahead) and the 64 KB body limit are on by default.
    let (callback, shutdown) = Endpoint::new(crypto)
        .handler(move |event| handle(client.clone(), event, done.clone()))
        .into_parts()
        .expect("the default replay and dedupe windows are consistent");
    (axum::Router::new().nest("/callback", callback), shutdown)
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
        let crypto = CallbackCrypto::new(&token, &key, &corp_id)?;
        let client = Client::builder().corp_id(corp_id).secret(secret).build()?;
        let (app, shutdown) = endpoint(crypto, client, None);
        let port = env("PORT").unwrap_or_else(|| "8080".into());
        let listener = tokio::net::TcpListener::bind(format!("0.0.0.0:{port}")).await?;
        println!("serving WeCom callbacks on http://{}/callback", listener.local_addr()?);
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        let drained = shutdown.drain(Duration::from_secs(20)).await;
        println!("stopped; {} event(s) left unfinished", drained.unfinished);
        return Ok(());
    }

    // Demo: everything on loopback.
    let standin = StandIn::start().await?;
    println!(
        "No credentials set: using the embedded stand-in for WeCom at {}.",
        standin.base_url()
    );
    let (token, key) = ("demo-token", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C");
    let crypto = CallbackCrypto::new(token, key, standin.corp_id())?;
    let (done_tx, mut done_rx) = mpsc::channel(4);
    let (app, shutdown) = endpoint(crypto, standin.client(), Some(done_tx));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/callback", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("Callback server at {url}");

    // WeCom's side, played by this program with the same token and key.
    let wecom = CallbackCrypto::new(token, key, standin.corp_id())?;
    let http = reqwest::Client::new();
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        .to_string();
    let (timestamp, nonce) = (timestamp.as_str(), "263014780");

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
    // WeCom delivers again when an answer is late or lost: the second copy is acknowledged, not handled.
    // `sign_xml`: the signed, encrypted request WeCom would send for this event, in one call.
    let signed = wecom.sign_xml(&event)?;
    for delivery in ["Event POST", "WeCom's redelivery"] {
        let reply = http
            .post(signed.uri(&url))
            .body(signed.body())
            .send()
            .await?
            .text()
            .await?;
        println!("{delivery} answered: {reply}");
    }

    tokio::time::timeout(Duration::from_secs(10), done_rx.recv()).await?;
    let drained = shutdown.drain(Duration::from_secs(10)).await;
    if !drained.is_complete() {
        return Err("handlers did not finish".into());
    }
    let sent: Vec<_> = standin
        .requests()
        .into_iter()
        .filter(|r| r.path == "externalcontact/send_welcome_msg")
        .collect();
    if sent.len() != 1 {
        return Err(format!("expected one welcome message, the stand-in got {}", sent.len()).into());
    }
    let sent = sent
        .into_iter()
        .next()
        .ok_or("no welcome message reached the stand-in")?;
    println!(
        "The stand-in received send_welcome_msg with {}",
        sent.json.unwrap_or_default()
    );
    Ok(())
}
