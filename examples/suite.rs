//! A service provider's process: receive the `suite_ticket` callback, build a `Suite`, and call
//! `get_follow_user_list` for several authorized corps at once.
//!
//! With `WECOM_SUITE_ID`, `WECOM_SUITE_SECRET`, `WECOM_SUITE_TICKET` (the latest ticket your callback
//! received) and `WECOM_AUTH_CORPS` (`corpid:permanent_code,corpid:permanent_code,…`) set, it calls WeCom.
//! Without them it starts the embedded stand-in, plays WeCom's encrypted ticket callback against itself,
//! makes 3 corps × 100 concurrent first calls and checks that they took one `get_suite_token` and one
//! `get_corp_token` per corp.
//!
//! ```text
//! cargo run --example suite
//! ```
use std::sync::Arc;
use wecom_externalcontact::callback::{CallbackCrypto, Event};
use wecom_externalcontact::models::GetFollowUserListRequest;
use wecom_externalcontact::standin::StandIn;
use wecom_externalcontact::token::{MemoryTokenStore, SuiteTokenProvider, TokenStore};
use wecom_externalcontact::Suite;

/// The suite's 指令回调 handler: verify, decrypt, decode, and let the suite take the ticket.
async fn on_suite_callback(
    crypto: &CallbackCrypto,
    suite: &Suite,
    (signature, timestamp, nonce): (&str, &str, &str),
    body: &str,
) -> wecom_externalcontact::Result<&'static str> {
    let event = Event::from_xml(&crypto.decrypt_message(signature, timestamp, nonce, body)?)?;
    suite.on_event(&event).await?; // a suite_ticket is stored; cancel_auth drops the corp's client
    Ok("success")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Share this store (e.g. `RedisTokenStore` with the `redis` feature) between the processes of a fleet:
    // the ticket and every token live there.
    let store: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(id), Some(secret), Some(ticket), Some(corps)) = (
        env("WECOM_SUITE_ID"),
        env("WECOM_SUITE_SECRET"),
        env("WECOM_SUITE_TICKET"),
        env("WECOM_AUTH_CORPS"),
    ) {
        println!("Calling WeCom as suite {id}.");
        let suite = Suite::new(SuiteTokenProvider::new(id, secret).token_store(store))?;
        suite.set_ticket(ticket).await?;
        for pair in corps.split(',') {
            let (corp, code) = pair
                .split_once(':')
                .ok_or("WECOM_AUTH_CORPS: corpid:permanent_code,…")?;
            let members = suite
                .corp_client(corp, code)?
                .get_follow_user_list(&GetFollowUserListRequest::new())
                .await?;
            println!("{corp}: {:?}", members.follow_user);
        }
        return Ok(());
    }

    let standin = StandIn::start().await?;
    let config = standin.suite_config().clone();
    println!(
        "WECOM_SUITE_* not set: using the embedded stand-in at {} as WeCom for suite {} and {} authorized corps.",
        standin.base_url(),
        config.suite_id,
        config.corps.len()
    );
    let suite = Suite::new(
        SuiteTokenProvider::new(config.suite_id.clone(), config.suite_secret.as_str())
            .token_store(store)
            .base_url(standin.base_url()),
    )?;

    // WeCom pushes the ticket, encrypted, to the suite's callback URL (the receive id is the suite id).
    let (token, key) = ("suite-callback-token", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C");
    let crypto = CallbackCrypto::new(token, key, &config.suite_id)?;
    let xml = format!(
        "<xml><SuiteId><![CDATA[{}]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType>\
         <TimeStamp>1403610513</TimeStamp><SuiteTicket><![CDATA[{}]]></SuiteTicket></xml>",
        config.suite_id,
        standin.suite_ticket()
    );
    let encrypted = crypto.encrypt(&xml)?;
    let (timestamp, nonce) = ("1403610513", "380320359");
    let signature = crypto.signature(timestamp, nonce, &encrypted);
    let body = format!(
        "<xml><ToUserName><![CDATA[{}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>",
        config.suite_id
    );
    let answer = on_suite_callback(&crypto, &suite, (&signature, timestamp, nonce), &body).await?;
    println!("suite_ticket callback answered: {answer}");

    // 3 corps × 100 concurrent first calls.
    let mut tasks = Vec::new();
    for corp in &config.corps {
        for _ in 0..100 {
            let (suite, corp_id, code) = (suite.clone(), corp.corp_id.clone(), corp.permanent_code.clone());
            tasks.push(tokio::spawn(async move {
                let client = suite.corp_client(&corp_id, code)?;
                let r = client.get_follow_user_list(&GetFollowUserListRequest::new()).await?;
                Ok::<_, wecom_externalcontact::Error>((corp_id, r.follow_user))
            }));
        }
    }
    let mut seen = std::collections::BTreeMap::new();
    for t in tasks {
        let (corp, members) = t.await??;
        seen.insert(corp, members);
    }
    for (corp, members) in &seen {
        println!("{corp}: members with 客户联系: {}", members.join(", "));
    }
    let (suite_tokens, corp_tokens) = (standin.suite_token_count(), standin.corp_token_total());
    println!(
        "300 calls for {} corps took {suite_tokens} get_suite_token and {corp_tokens} get_corp_token.",
        seen.len()
    );
    if suite_tokens != 1 || corp_tokens != config.corps.len() {
        return Err("expected one suite token and one corp token per corp".into());
    }
    Ok(())
}
