//! Third-party suites (issue 8) on the stand-in: suite tickets, suite tokens, authorized-corp tokens, provider
//! tokens, many corps in one process, the suite callback events, and secrecy.

use serde_json::json;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wecom_externalcontact::callback::{Envelope, Event, EventKind};
use wecom_externalcontact::models::{
    GetFollowUserListRequest, ListRequest, ServiceGetPreAuthCodeRequest, ServiceV2GetAuthInfoRequest,
};
use wecom_externalcontact::standin::{StandIn, StandInConfig};
use wecom_externalcontact::token::{MemoryTokenStore, Secret, SuiteTokenProvider, TokenProvider, TokenStore};
use wecom_externalcontact::{Client, Error, Suite, TokenKind};

/// A stand-in whose token endpoints answer after 50 ms, so concurrent first calls overlap.
async fn slow_standin() -> StandIn {
    StandIn::start_with(StandInConfig {
        gettoken_delay: Duration::from_millis(50),
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn suite_with_ticket(s: &StandIn) -> Suite {
    let suite = Suite::new(s.suite_token_provider()).unwrap();
    suite.set_ticket(s.suite_ticket()).await.unwrap();
    suite
}

fn corps(s: &StandIn) -> Vec<(String, String, Vec<String>)> {
    s.suite_config()
        .corps
        .iter()
        .map(|c| (c.corp_id.clone(), c.permanent_code.clone(), c.follow_users.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_corps_times_a_hundred_concurrent_first_calls_make_one_suite_token_and_three_corp_tokens() {
    let s = slow_standin().await;
    let suite = suite_with_ticket(&s).await;
    let corps = corps(&s);
    assert_eq!(corps.len(), 3);
    let mut tasks = Vec::new();
    for (corp, code, members) in &corps {
        for _ in 0..100 {
            let (suite, corp, code, members) = (suite.clone(), corp.clone(), code.clone(), members.clone());
            tasks.push(tokio::spawn(async move {
                let client = suite.corp_client(&corp, code.as_str())?;
                let r = client.get_follow_user_list(&GetFollowUserListRequest::new()).await?;
                // Each corp's answer is its own members: its token reached its own calls only.
                assert_eq!(r.follow_user, members, "{corp}");
                Ok::<_, Error>(())
            }));
        }
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(s.suite_token_count(), 1, "one get_suite_token in all");
    assert_eq!(s.corp_token_total(), 3, "one get_corp_token per corp");
    for (corp, _, _) in &corps {
        assert_eq!(s.corp_token_count(corp), 1, "{corp}");
        assert_eq!(suite.corp_token_fetches(corp), 1, "{corp}");
    }
    assert_eq!(suite.provider().fetch_count(), 1);
    assert_eq!(suite.corps().len(), 3, "one cached client per corp");
    let calls = s.corp_calls();
    assert_eq!(calls.len(), 300);
    for (corp, _, _) in &corps {
        assert_eq!(calls.iter().filter(|(c, _)| c == corp).count(), 100, "{corp}");
    }
}

#[tokio::test]
async fn corp_clients_are_cached_per_corp_and_permanent_code() {
    let s = StandIn::start().await.unwrap();
    let suite = suite_with_ticket(&s).await;
    let (corp, code, _) = corps(&s).remove(0);
    let a = suite.corp_client(&corp, code.as_str()).unwrap();
    let b = suite.corp_client(&corp, code.as_str()).unwrap();
    a.get_follow_user_list(&GetFollowUserListRequest::new()).await.unwrap();
    b.get_follow_user_list(&GetFollowUserListRequest::new()).await.unwrap();
    assert_eq!(s.corp_token_count(&corp), 1, "the same corp shares one token");
    // A wrong permanent code is another client, and WeCom's 40084 comes back as a typed error.
    let wrong = suite.corp_client(&corp, "not-the-code").unwrap();
    let err = wrong
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40084), "{err}");
    // Bad input is a typed error, not a panic.
    assert!(matches!(suite.corp_client("", "code"), Err(Error::Config(_))));
    assert!(matches!(suite.corp_client(&corp, ""), Err(Error::Config(_))));
    suite.remove_corp(&corp);
    assert!(!suite.corps().contains(&corp));
}

#[tokio::test]
async fn a_ticket_set_through_one_provider_is_used_by_another_sharing_the_store() {
    let s = StandIn::start().await.unwrap();
    let store: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    // The process that receives the ticket callback only stores the ticket...
    let receiver = s.suite_token_provider().token_store(store.clone());
    receiver.set_ticket(s.suite_ticket()).await.unwrap();
    assert_eq!(s.suite_token_count(), 0);
    // ...and another one, sharing the store, fetches the suite token with it.
    let worker = Suite::new(s.suite_token_provider().token_store(store.clone())).unwrap();
    let r = worker
        .client()
        .service_get_pre_auth_code(&ServiceGetPreAuthCodeRequest::new())
        .await
        .unwrap();
    assert!(!r.pre_auth_code.is_empty());
    assert_eq!(s.suite_token_count(), 1);
    assert_eq!(receiver.fetch_count(), 0);
    assert_eq!(worker.provider().fetch_count(), 1);
    // The token is in the store too: the receiver now uses it without a fetch.
    receiver.token().await.unwrap();
    assert_eq!(s.suite_token_count(), 1);
    // The store keys name the suite, never the secret or the ticket.
    assert!(!receiver.key().contains(&s.suite_config().suite_secret));
}

#[tokio::test]
async fn a_new_ticket_replaces_the_old_one() {
    let s = StandIn::start().await.unwrap();
    let suite = Suite::new(s.suite_token_provider()).unwrap();
    suite.set_ticket(s.suite_ticket()).await.unwrap();
    s.push_suite_ticket("standin-suite-ticket-2");
    // The stored ticket is stale now: WeCom answers 40085.
    let err = suite
        .client()
        .service_get_pre_auth_code(&ServiceGetPreAuthCodeRequest::new())
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40085), "{err}");
    assert!(!format!("{err} {err:?}").contains("standin-suite-ticket"));
}

#[tokio::test]
async fn an_expired_suite_token_is_refreshed_once_and_calls_succeed() {
    let s = StandIn::start().await.unwrap();
    let suite = suite_with_ticket(&s).await;
    let client = suite.client();
    client
        .service_get_pre_auth_code(&ServiceGetPreAuthCodeRequest::new())
        .await
        .unwrap();
    assert_eq!(s.suite_token_count(), 1);
    s.expire_suite_tokens();
    client
        .service_get_pre_auth_code(&ServiceGetPreAuthCodeRequest::new())
        .await
        .unwrap();
    assert_eq!(s.suite_token_count(), 2, "one refresh after 42009");
    let calls = crate::support::requests_to(&s, "service/get_pre_auth_code");
    assert_eq!(calls.len(), 3, "first call, rejected call, its one replay");

    // A corp token fetch that meets an expired suite token refreshes the suite token once too.
    let (corp, code, members) = corps(&s).remove(1);
    let corp_client = suite.corp_client(&corp, code.as_str()).unwrap();
    s.expire_suite_tokens();
    let r = corp_client
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap();
    assert_eq!(r.follow_user, members);
    assert_eq!(s.suite_token_count(), 3);
    assert_eq!(s.corp_token_count(&corp), 1);

    // An expired corp token (42001) is refreshed once, like a self-built app's.
    s.expire_corp_tokens();
    corp_client
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap();
    assert_eq!(s.corp_token_count(&corp), 2);
    assert_eq!(s.suite_token_count(), 3);
}

#[tokio::test]
async fn a_rejected_suite_token_is_not_replayed_twice() {
    let s = StandIn::start().await.unwrap();
    let suite = suite_with_ticket(&s).await;
    suite
        .client()
        .service_get_pre_auth_code(&ServiceGetPreAuthCodeRequest::new())
        .await
        .unwrap();
    s.clear_requests();
    // Every token expires at once, including the refreshed one: the call fails after exactly one replay.
    s.fail_next("service/get_pre_auth_code", 42009, "suite_access_token expired");
    s.expire_suite_tokens();
    let err = suite
        .client()
        .service_get_pre_auth_code(&ServiceGetPreAuthCodeRequest::new())
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(42009));
    let calls = crate::support::calls_to(&s, "service/get_pre_auth_code");
    assert_eq!(calls, 2, "the call and one replay");
}

#[tokio::test]
async fn without_a_ticket_the_error_says_what_to_do_and_nothing_is_sent() {
    let s = StandIn::start().await.unwrap();
    let suite = Suite::new(s.suite_token_provider()).unwrap();
    let err = suite
        .client()
        .service_get_pre_auth_code(&ServiceGetPreAuthCodeRequest::new())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(text.contains("suite_ticket") && text.contains("set_ticket"), "{text}");
    let (corp, code, _) = corps(&s).remove(0);
    let err = suite
        .corp_client(&corp, code.as_str())
        .unwrap()
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(s.requests().is_empty(), "no request without a ticket");
    // Once the ticket arrives, calls work at once (no backoff from the failure above).
    suite.set_ticket(s.suite_ticket()).await.unwrap();
    suite
        .client()
        .service_get_pre_auth_code(&ServiceGetPreAuthCodeRequest::new())
        .await
        .unwrap();
    assert!(matches!(suite.set_ticket("  ").await, Err(Error::Config(_))));
}

#[tokio::test]
async fn a_corp_token_never_reaches_another_corps_call() {
    let s = StandIn::start().await.unwrap();
    let suite = suite_with_ticket(&s).await;
    let corps = corps(&s);
    let clients: Vec<Client> = corps
        .iter()
        .map(|(corp, code, _)| suite.corp_client(corp, code.as_str()).unwrap())
        .collect();
    for (client, (_, _, members)) in clients.iter().zip(&corps) {
        let r = client
            .get_follow_user_list(&GetFollowUserListRequest::new())
            .await
            .unwrap();
        assert_eq!(&r.follow_user, members);
        // Its own member is fine; another corp's member is refused by WeCom (60111).
        client.list(&ListRequest::new(members[0].clone())).await.unwrap();
    }
    let err = clients[0]
        .list(&ListRequest::new(corps[1].2[0].clone()))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(60111), "{err}");
    // Every call went out with the token of the corp whose client made it.
    let calls = s.corp_calls();
    let expected: Vec<(String, String)> = corps
        .iter()
        .flat_map(|(corp, _, _)| {
            [
                (corp.clone(), "externalcontact/get_follow_user_list".to_string()),
                (corp.clone(), "externalcontact/list".to_string()),
            ]
        })
        .chain([(corps[0].0.clone(), "externalcontact/list".to_string())])
        .collect();
    assert_eq!(calls, expected);
}

#[tokio::test]
async fn wrong_kinds_of_tokens_get_wecoms_errcodes() {
    let s = StandIn::start().await.unwrap();
    let suite = suite_with_ticket(&s).await;
    // A suite token where a corp's access_token is required: 40014 (after one refresh, never more).
    let misused = Client::builder()
        .base_url(s.base_url())
        .token_provider(TokenKind::Access, suite.provider().clone())
        .build()
        .unwrap();
    let err = misused
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40014), "{err}");
    // A corp token where a suite token is required: 40082.
    let (corp, code, _) = corps(&s).remove(0);
    let corp_tokens =
        wecom_externalcontact::token::AuthCorpTokenProvider::new(suite.provider().clone(), corp.clone(), code.as_str())
            .unwrap();
    let misused = Client::builder()
        .base_url(s.base_url())
        .token_provider(TokenKind::Suite, Arc::new(corp_tokens))
        .build()
        .unwrap();
    let err = misused
        .service_v2_get_auth_info(&ServiceV2GetAuthInfoRequest::new(corp.clone(), code.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40082), "{err}");
    // The typed clients refuse the wrong kind before sending anything.
    let err = suite
        .client()
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
}

#[tokio::test]
async fn provider_tokens_are_fetched_once_and_shared() {
    let s = slow_standin().await;
    let provider = Arc::new(s.provider_token_provider());
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let p = provider.clone();
        tasks.push(tokio::spawn(async move { p.token().await }));
    }
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap().unwrap().expose().to_string());
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].starts_with("standin-provider-token-"));
    assert_eq!(s.provider_token_count(), 1);
    assert_eq!(provider.fetch_count(), 1);
    let wrong =
        wecom_externalcontact::token::ProviderTokenProvider::new("wwstandinprovider", "wrong").base_url(s.base_url());
    let err = wrong.token().await.unwrap_err();
    assert_eq!(err.errcode(), Some(40001));
    assert!(!format!("{err} {err:?} {wrong:?}").contains("wrong\""));
}

#[test]
fn credentials_in_the_generated_models_stay_out_of_debug() {
    use wecom_externalcontact::models::{
        GettokenResponse, ServiceGetCorpTokenRequest, ServiceGetPermanentCodeResponse, ServiceGetSuiteTokenRequest,
    };
    let r: ServiceGetPermanentCodeResponse = serde_json::from_value(json!({
        "errcode": 0, "errmsg": "ok",
        "access_token": "AT-SECRET-1", "expires_in": 7200, "permanent_code": "PC-SECRET-2",
        "auth_corp_info": { "corpid": "wwcorpa" }
    }))
    .unwrap();
    assert_eq!(r.permanent_code.expose(), "PC-SECRET-2");
    let req = ServiceGetSuiteTokenRequest::new("wwsuite", "SUITE-SECRET-3", "TICKET-4");
    let corp = ServiceGetCorpTokenRequest::new("wwcorpa", "PC-SECRET-5");
    let t: GettokenResponse =
        serde_json::from_value(json!({ "access_token": "AT-SECRET-6", "expires_in": 7200 })).unwrap();
    let debug = format!("{r:?} {req:?} {corp:?} {t:?}");
    for secret in [
        "AT-SECRET-1",
        "PC-SECRET-2",
        "SUITE-SECRET-3",
        "TICKET-4",
        "PC-SECRET-5",
        "AT-SECRET-6",
    ] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(debug.contains("wwcorpa"), "the rest is shown: {debug}");
    // The JSON keeps them: they are what goes to and comes from WeCom.
    let back = serde_json::to_value(&req).unwrap();
    assert_eq!(
        back,
        json!({ "suite_id": "wwsuite", "suite_secret": "SUITE-SECRET-3", "suite_ticket": "TICKET-4" })
    );
}

// ---------------------------------------------------------------------------------------------------------
// The suite callback events

fn suite_xml(info_type: &str, rest: &str) -> String {
    format!(
        "<xml><SuiteId><![CDATA[wwstandinsuite]]></SuiteId><InfoType><![CDATA[{info_type}]]></InfoType>\
         <TimeStamp>1403610513</TimeStamp>{rest}</xml>"
    )
}

#[test]
fn suite_events_decode_and_keep_their_secrets_out_of_debug() {
    let ticket = "TICKET-Cfp0_givEagXcYJIztF6sfbdmIZCmpaR8ZBsvJEFFNBr";
    let e = Event::from_xml(&suite_xml(
        "suite_ticket",
        &format!("<SuiteTicket><![CDATA[{ticket}]]></SuiteTicket>"),
    ))
    .unwrap();
    match &e.kind {
        EventKind::SuiteTicket { suite_ticket } => assert_eq!(suite_ticket.expose(), ticket),
        other => panic!("{other:?}"),
    }
    assert_eq!(e.event_name(), Some("suite_ticket"));
    assert_eq!(e.change_type(), None);
    assert!(
        matches!(&e.envelope, Envelope::Suite { suite_id, auth_corp_id: None, timestamp } if suite_id == "wwstandinsuite" && *timestamp == 1403610513)
    );
    assert!(!format!("{e:?}").contains(ticket), "{e:?}");
    // The JSON form keeps the ticket (it is data), and reads back to the same event.
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["SuiteTicket"], ticket);
    assert_eq!(json["InfoType"], "suite_ticket");
    assert!(json.get("ChangeType").is_none());
    assert_eq!(Event::from_json(&json.to_string()).unwrap(), e);

    let code = "AUTHCODE-64-bytes-or-more-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    let e = Event::from_xml(&suite_xml(
        "create_auth",
        &format!("<AuthCode><![CDATA[{code}]]></AuthCode><State><![CDATA[s1]]></State>"),
    ))
    .unwrap();
    match &e.kind {
        EventKind::CreateAuth { auth_code, state } => {
            assert_eq!(auth_code.expose(), code);
            assert_eq!(state.as_deref(), Some("s1"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{e:?}").contains(code));

    let corp = "<AuthCorpId><![CDATA[wwcorpa]]></AuthCorpId>";
    let e = Event::from_xml(&suite_xml("change_auth", corp)).unwrap();
    assert!(matches!(e.kind, EventKind::ChangeAuth { state: None }));
    assert_eq!(e.corp_id(), Some("wwcorpa"));
    let e = Event::from_xml(&suite_xml("cancel_auth", corp)).unwrap();
    assert!(matches!(e.kind, EventKind::CancelAuth {}));
    let e = Event::from_xml(&suite_xml(
        "reset_permanent_code",
        &format!("{corp}<AuthCode><![CDATA[{code}]]></AuthCode>"),
    ))
    .unwrap();
    assert!(matches!(&e.kind, EventKind::ResetPermanentCode { auth_code } if auth_code.expose() == code));

    // A ticket event without its ticket is a typed error, not a panic.
    assert!(Event::from_xml(&suite_xml("suite_ticket", "")).is_err());
    // Known InfoTypes with a ChangeType they do not have stay Unrecognized, whole.
    let e = Event::from_xml(&suite_xml(
        "suite_ticket",
        "<ChangeType>x</ChangeType><SuiteTicket>t</SuiteTicket>",
    ))
    .unwrap();
    assert!(e.kind.is_unrecognized());
    for pair in [
        ("suite_ticket", ""),
        ("create_auth", ""),
        ("change_auth", ""),
        ("cancel_auth", ""),
        ("reset_permanent_code", ""),
    ] {
        assert!(EventKind::known().any(|p| p == pair), "{pair:?}");
    }
}

#[tokio::test]
async fn the_ticket_callback_feeds_the_suite_in_one_line() {
    let s = StandIn::start().await.unwrap();
    let suite = Suite::new(s.suite_token_provider()).unwrap();
    let xml = suite_xml(
        "suite_ticket",
        &format!("<SuiteTicket><![CDATA[{}]]></SuiteTicket>", s.suite_ticket()),
    );
    assert!(suite.on_event(&Event::from_xml(&xml).unwrap()).await.unwrap());
    suite
        .client()
        .service_get_pre_auth_code(&ServiceGetPreAuthCodeRequest::new())
        .await
        .unwrap();
    // Another suite's ticket is not taken.
    let other = xml.replace("wwstandinsuite", "wwothersuite");
    assert!(!suite.on_event(&Event::from_xml(&other).unwrap()).await.unwrap());
    // cancel_auth forgets the corp's client.
    let (corp, code, _) = corps(&s).remove(0);
    suite.corp_client(&corp, code.as_str()).unwrap();
    let cancel = suite_xml("cancel_auth", &format!("<AuthCorpId>{corp}</AuthCorpId>"));
    assert!(suite.on_event(&Event::from_xml(&cancel).unwrap()).await.unwrap());
    assert!(suite.corps().is_empty());
}

#[tokio::test]
async fn a_wrapped_callback_handler_stores_tickets_by_itself_and_sees_every_event() {
    let s = StandIn::start().await.unwrap();
    let suite = Suite::new(s.suite_token_provider()).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let handler = suite.callback_handler(move |event: Event| {
        let log = log.clone();
        async move {
            log.lock()
                .unwrap()
                .push(event.event_name().unwrap_or_default().to_string())
        }
    });
    let ticket = suite_xml(
        "suite_ticket",
        &format!("<SuiteTicket><![CDATA[{}]]></SuiteTicket>", s.suite_ticket()),
    );
    handler(Event::from_xml(&ticket).unwrap()).await;
    handler(Event::from_xml(&suite_xml("change_auth", "<AuthCorpId>wwcorpa</AuthCorpId>")).unwrap()).await;
    assert_eq!(*seen.lock().unwrap(), vec!["suite_ticket", "change_auth"]);
    suite
        .client()
        .service_get_pre_auth_code(&ServiceGetPreAuthCodeRequest::new())
        .await
        .unwrap();
    assert_eq!(s.suite_token_count(), 1);
}

// ---------------------------------------------------------------------------------------------------------
// Secrecy: no ticket, suite secret, permanent code or token in an error, a Debug output or a log line

#[derive(Default, Clone)]
struct Captured(Arc<Mutex<String>>);

struct Visitor<'a>(&'a mut String);

impl tracing::field::Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl tracing::Subscriber for Captured {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut line = self.0.lock().unwrap();
        span.record(&mut Visitor(&mut line));
        line.push('\n');
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut line = self.0.lock().unwrap();
        values.record(&mut Visitor(&mut line));
        line.push('\n');
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = self.0.lock().unwrap();
        let _ = write!(line, "{} {}:", event.metadata().level(), event.metadata().target());
        event.record(&mut Visitor(&mut line));
        line.push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn no_ticket_secret_permanent_code_or_token_in_errors_debug_or_logs() {
    let logs = Captured::default();
    crate::support::logs_reach_scoped_subscribers();
    let _guard = tracing::subscriber::set_default(logs.clone());
    let s = StandIn::start().await.unwrap();
    let config = s.suite_config().clone();
    let suite = suite_with_ticket(&s).await;
    let (corp, code, _) = corps(&s).remove(0);
    let mut seen = String::new();

    // Successful calls, a refresh, and failures of every kind.
    let client = suite.corp_client(&corp, code.as_str()).unwrap();
    client
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap();
    s.expire_suite_tokens();
    s.expire_corp_tokens();
    client
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap();
    let wrong_code = suite.corp_client(&corp, "WRONG-permanent-code-123").unwrap();
    let e1 = wrong_code
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap_err();
    let bad_secret =
        Suite::new(SuiteTokenProvider::new(config.suite_id.clone(), "WRONG-suite-secret-456").base_url(s.base_url()))
            .unwrap();
    bad_secret.set_ticket(s.suite_ticket()).await.unwrap();
    let e2 = bad_secret
        .client()
        .service_get_pre_auth_code(&ServiceGetPreAuthCodeRequest::new())
        .await
        .unwrap_err();
    assert_eq!(e2.errcode(), Some(40080), "invalid suite_secret");
    s.set_response("service/get_pre_auth_code", json!({ "errcode": 0, "pre_auth_code": 5 }));
    let e3 = suite
        .client()
        .service_get_pre_auth_code(&ServiceGetPreAuthCodeRequest::new())
        .await
        .unwrap_err();
    for e in [&e1, &e2, &e3] {
        let _ = writeln!(seen, "{e} {e:?}");
    }
    let _ = write!(
        seen,
        "{suite:?} {client:?} {:?} {config:?} {:?}",
        suite.provider(),
        Secret::new("x")
    );
    let all = format!("{seen}\n{}", logs.0.lock().unwrap());
    assert!(
        all.contains("fetching suite_access_token"),
        "the logs were captured:\n{all}"
    );
    let mut secrets = vec![
        config.suite_secret.clone(),
        s.suite_ticket(),
        code.clone(),
        "WRONG-permanent-code-123".into(),
        "WRONG-suite-secret-456".into(),
        "standin-suite-token-".into(),
        "standin-corp-token-".into(),
    ];
    secrets.extend(config.corps.iter().map(|c| c.permanent_code.clone()));
    for secret in secrets {
        assert!(!all.contains(&secret), "{secret} leaked:\n{all}");
    }
}

#[tokio::test]
async fn recorded_requests_debug_without_credentials() {
    let s = StandIn::start().await.unwrap();
    let suite = suite_with_ticket(&s).await;
    let (corp, code, _) = corps(&s).remove(0);
    suite
        .corp_client(&corp, code.as_str())
        .unwrap()
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap();
    s.provider_token_provider().token().await.unwrap();
    s.client()
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap();

    let recorded = s.requests();
    let paths: Vec<&str> = recorded.iter().map(|r| r.path.as_str()).collect();
    for fetch in [
        "service/get_suite_token",
        "service/get_corp_token",
        "service/get_provider_token",
        "gettoken",
    ] {
        assert!(paths.contains(&fetch), "{fetch} was recorded: {paths:?}");
    }
    // The record itself keeps what was sent (tests assert on it); only its Debug leaves credentials out.
    let ticket = s.suite_ticket();
    let config = s.suite_config();
    assert!(recorded
        .iter()
        .any(|r| r.json.as_ref().is_some_and(|j| j["suite_ticket"] == ticket.as_str())));
    let shown = format!("{recorded:?}");
    for secret in [
        ticket.as_str(),
        config.suite_secret.as_str(),
        config.provider_secret.as_str(),
        code.as_str(),
        s.secret(),
    ] {
        assert!(!shown.contains(secret), "a credential in {shown}");
    }
    assert!(
        shown.contains("[redacted]") && shown.contains("service/get_corp_token"),
        "{shown}"
    );
}

#[test]
fn the_secret_fields_come_from_the_spec() {
    let names = wecom_externalcontact::catalog::secret_fields();
    for name in [
        "corpsecret",
        "suite_secret",
        "suite_ticket",
        "permanent_code",
        "auth_code",
        "provider_secret",
    ] {
        assert!(names.contains(&name), "{name} is marked secret in spec/: {names:?}");
    }
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted, each once: {names:?}");
    assert!(!names.contains(&"external_userid"), "{names:?}");
}
