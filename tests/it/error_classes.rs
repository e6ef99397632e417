//! The one error classification (`errcode::ErrorClass`, generated from `spec/errcodes.yaml`) as the client
//! lives it, code by code: a refused token is replayed once with a new one, a retryable code is retried on
//! reads only, a rate limit is never retried blindly, a fatal code comes back at once.

use std::sync::Arc;
use std::time::Duration;
use wecom_externalcontact::errcode::{self, ErrorClass, Throttle};
use wecom_externalcontact::models::GetCorpTagListRequest;
use wecom_externalcontact::standin::StandIn;
use wecom_externalcontact::{Client, RetryPolicy, TokenKind};

const READ: &str = "externalcontact/get_corp_tag_list";
const WRITE: &str = "externalcontact/add_corp_tag";

use crate::support::calls_to;

/// A client of the stand-in that makes up to `attempts` attempts in all, with short delays.
///
/// Its rate budgets fail fast, so a 45009 comes back at once instead of being waited out (the hold itself is
/// tested in tests/it/limits.rs).
fn client(s: &StandIn, attempts: u32) -> Client {
    let policy = RetryPolicy::default()
        .max_attempts(attempts)
        .base_delay(Duration::from_millis(1));
    Client::builder()
        .corp_id(s.corp_id())
        .secret(s.secret())
        .base_url(s.base_url())
        .retry_policy(policy)
        .budgets(wecom_externalcontact::Budgets::default().fail_fast())
        .build()
        .unwrap()
}

fn codes_of(wanted: impl Fn(ErrorClass) -> bool) -> Vec<i64> {
    errcode::all()
        .iter()
        .filter(|e| wanted(e.class))
        .map(|e| e.code)
        .collect()
}

/// Every catalogued code, answered once to a read: what the client did (requests made, token fetches) and
/// what the caller sees, by the code's class.
#[tokio::test]
async fn every_catalogued_code_gets_what_its_class_calls_for() {
    let s = StandIn::start().await.unwrap();
    // Generous retries: a class the client must not retry would show up as extra requests.
    let mut classes = Vec::new();
    for info in errcode::all() {
        let (code, class) = (info.code, info.class);
        // A client per code with its token already fetched: a 45009 holds the endpoint for the client's corp
        // (issue 19), which would refuse the codes after it.
        let c = client(&s, 5);
        c.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap();
        let (calls, fetches) = (calls_to(&s, READ), s.gettoken_count());
        s.fail_next(READ, code, "from the errcode table");
        let got = c.get_corp_tag_list(&GetCorpTagListRequest::new()).await;
        let (calls, fetches) = (calls_to(&s, READ) - calls, s.gettoken_count() - fetches);
        match class {
            ErrorClass::TokenInvalid(_) => {
                got.unwrap_or_else(|e| panic!("{code}: replayed with a new token: {e}"));
                assert_eq!((calls, fetches), (2, 1), "{code}: the call, one new token, one replay");
            }
            // 45033 on a read: retried once the endpoint's concurrency for the corp is halved.
            ErrorClass::Retryable | ErrorClass::Throttled(Throttle::Concurrency) => {
                got.unwrap_or_else(|e| panic!("{code}: retried on a read: {e}"));
                assert_eq!((calls, fetches), (2, 0), "{code}: one retry, same token");
            }
            ErrorClass::Throttled(_) | ErrorClass::Fatal => {
                let e = got.expect_err("answered with an error");
                assert_eq!((calls, fetches), (1, 0), "{code}: returned at once, never retried");
                assert_eq!(e.errcode(), Some(code));
                assert_eq!(e.class(), Some(class));
                assert_eq!(e.is_retryable(), matches!(class, ErrorClass::Throttled(_)), "{code}");
            }
            other => panic!("{code}: a class this test does not know yet: {other:?}"),
        }
        if !classes.contains(&class) {
            classes.push(class);
        }
    }
    for class in [
        ErrorClass::TokenInvalid(TokenKind::Access),
        ErrorClass::TokenInvalid(TokenKind::Suite),
        ErrorClass::Retryable,
        ErrorClass::Throttled(Throttle::Frequency),
        ErrorClass::Throttled(Throttle::Concurrency),
        ErrorClass::Fatal,
    ] {
        assert!(classes.contains(&class), "the table has a code of class {class:?}");
    }

    // A code WeCom adds later is fatal until the spec says otherwise.
    let c = client(&s, 5);
    s.fail_next(READ, 99_999_999, "brand new");
    let calls = calls_to(&s, READ);
    let e = c.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap_err();
    assert_eq!((e.class(), calls_to(&s, READ) - calls), (Some(ErrorClass::Fatal), 1));
}

#[tokio::test]
async fn retryable_codes_are_retried_on_reads_up_to_the_policy_and_never_on_writes() {
    let retryable = codes_of(|c| c == ErrorClass::Retryable);
    assert_eq!(retryable, vec![-1, 6000, 41063], "the spec's retryable codes");
    let s = StandIn::start().await.unwrap();
    let c = client(&s, 3);
    for code in retryable {
        let calls = calls_to(&s, READ);
        for _ in 0..3 {
            s.fail_next(READ, code, "passing failure");
        }
        let e = c.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap_err();
        assert_eq!(e.errcode(), Some(code));
        assert!(e.is_retryable());
        assert_eq!(calls_to(&s, READ) - calls, 3, "{code}: three attempts on a read");

        let calls = calls_to(&s, WRITE);
        s.fail_next(WRITE, code, "passing failure");
        let e = c
            .add_corp_tag(&crate::support::a_valid_add_corp_tag())
            .await
            .unwrap_err();
        assert_eq!(e.errcode(), Some(code));
        assert_eq!(calls_to(&s, WRITE) - calls, 1, "{code}: a write is never retried");
    }
}

#[tokio::test]
async fn a_refused_token_is_replayed_once_on_writes_too_and_never_twice() {
    let s = StandIn::start().await.unwrap();
    let c = client(&s, 3);
    c.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap();
    for code in codes_of(|c| matches!(c, ErrorClass::TokenInvalid(_))) {
        // The request was refused for its token, not executed: replaying a write is safe.
        let (calls, fetches) = (calls_to(&s, WRITE), s.gettoken_count());
        s.fail_next(WRITE, code, "token refused");
        c.add_corp_tag(&crate::support::a_valid_add_corp_tag())
            .await
            .unwrap_or_else(|e| panic!("{code}: replayed: {e}"));
        assert_eq!(
            (calls_to(&s, WRITE) - calls, s.gettoken_count() - fetches),
            (2, 1),
            "{code}"
        );

        // Refused again after the replay: returned, with no third request.
        let (calls, fetches) = (calls_to(&s, READ), s.gettoken_count());
        s.fail_next(READ, code, "token refused");
        s.fail_next(READ, code, "token refused again");
        let e = c.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap_err();
        assert_eq!(e.class(), Some(errcode::classify(code)));
        assert!(!e.is_retryable());
        assert_eq!(
            (calls_to(&s, READ) - calls, s.gettoken_count() - fetches),
            (2, 1),
            "{code}"
        );
    }
}

#[tokio::test]
async fn rate_limits_are_never_retried_blindly() {
    let s = StandIn::start().await.unwrap();
    let c = client(&s, 10);
    // 45009: the endpoint is held for the corp; with fail-fast budgets the read comes back at once.
    assert_eq!(errcode::classify(45009).throttle(), Some(Throttle::Frequency));
    let calls = calls_to(&s, READ);
    s.fail_next(READ, 45009, "limited");
    let e = c.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap_err();
    assert_eq!(e.class(), Some(ErrorClass::Throttled(Throttle::Frequency)));
    assert!(e.is_retryable(), "45009: it can succeed later, after the block");
    assert_eq!(
        calls_to(&s, READ) - calls,
        1,
        "45009: one request, even with 10 attempts allowed"
    );
    // 45033 on a write: returned, never retried (a read is retried with less concurrency: the table test).
    assert_eq!(errcode::classify(45033).throttle(), Some(Throttle::Concurrency));
    let calls = calls_to(&s, WRITE);
    s.fail_next(WRITE, 45033, "limited");
    let e = c
        .add_corp_tag(&crate::support::a_valid_add_corp_tag())
        .await
        .unwrap_err();
    assert_eq!(e.class(), Some(ErrorClass::Throttled(Throttle::Concurrency)));
    assert_eq!(calls_to(&s, WRITE) - calls, 1, "45033 on a write: one request");
}

/// The same replay rule for every kind of token: a suite client refreshes its suite token, a provider
/// client its provider token.
#[cfg(feature = "service")]
#[tokio::test]
async fn suite_and_provider_clients_replay_a_refused_token_of_their_kind_once() {
    use wecom_externalcontact::models::{
        ServiceExternalcontactFinishExternalUseridMigrationRequest, ServiceGetPreAuthCodeRequest,
    };
    use wecom_externalcontact::Suite;

    let s = StandIn::start().await.unwrap();
    let suite = Suite::new(s.suite_token_provider()).unwrap();
    suite.set_ticket(s.suite_ticket()).await.unwrap();
    let path = "service/get_pre_auth_code";
    let c = suite.client();
    c.service_get_pre_auth_code(&ServiceGetPreAuthCodeRequest::new())
        .await
        .unwrap();
    for code in codes_of(|c| c == ErrorClass::TokenInvalid(TokenKind::Suite)) {
        let (calls, fetches) = (calls_to(&s, path), s.suite_token_count());
        s.fail_next(path, code, "suite token refused");
        c.service_get_pre_auth_code(&ServiceGetPreAuthCodeRequest::new())
            .await
            .unwrap_or_else(|e| panic!("{code}: replayed: {e}"));
        assert_eq!(
            (calls_to(&s, path) - calls, s.suite_token_count() - fetches),
            (2, 1),
            "{code}"
        );
    }

    // WeCom has no code of its own for a refused provider_access_token: it answers 40014.
    let path = "service/externalcontact/finish_external_userid_migration";
    let c = Client::builder()
        .base_url(s.base_url())
        .token_provider(TokenKind::Provider, Arc::new(s.provider_token_provider()))
        .build()
        .unwrap();
    let request =
        ServiceExternalcontactFinishExternalUseridMigrationRequest::new(s.suite_config().corps[0].corp_id.clone());
    c.service_externalcontact_finish_external_userid_migration(&request)
        .await
        .unwrap();
    let (calls, fetches) = (calls_to(&s, path), s.provider_token_count());
    s.fail_next(path, 40014, "invalid provider_access_token");
    c.service_externalcontact_finish_external_userid_migration(&request)
        .await
        .expect("replayed with a new provider token");
    assert_eq!((calls_to(&s, path) - calls, s.provider_token_count() - fetches), (2, 1));
}

/// Every code of `spec/errcodes.yaml` has its `ErrCode` variant, named after its `name`, and round-trips:
/// code → `ErrCode` → code, with its catalogued meaning; `Error::code` names an API error's code; a code the
/// spec does not list is kept in `Unrecognized`.
#[test]
fn every_spec_errcode_has_a_name_and_round_trips() {
    use wecom_externalcontact::errcode::ErrCode;
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/errcodes.yaml")).unwrap();
    let entries: Vec<(i64, String)> = yaml
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- { code: "))
        .map(|rest| {
            let (code, rest) = rest.split_once(", name: ").expect("every errcode has a name");
            let name = rest.split_once(',').unwrap().0.trim();
            (code.parse().unwrap(), name.to_owned())
        })
        .collect();
    assert_eq!(entries.len(), 57, "the yaml's codes");
    assert_eq!(ErrCode::ALL.len(), entries.len());
    for (code, name) in &entries {
        let named = ErrCode::from_code(*code);
        assert!(!named.is_unrecognized(), "{code}");
        assert_eq!(named.code(), *code);
        assert_eq!(i64::from(named), *code);
        assert_eq!(ErrCode::from(*code), named);
        assert!(ErrCode::ALL.contains(&named), "{code}");
        let camel: String = name.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect();
        assert_eq!(format!("{named:?}"), camel, "{code} is named after `{name}`");
        assert_eq!(named.info().unwrap().code, *code);
        assert_eq!(named.class(), errcode::classify(*code));
        let err = wecom_externalcontact::Error::Api {
            endpoint: READ.into(),
            errcode: *code,
            errmsg: "x".into(),
        };
        assert_eq!(err.code(), Some(named));
    }
    assert_eq!(ErrCode::from(84061), ErrCode::NotContacts);
    assert_eq!(ErrCode::from(123_456), ErrCode::Unrecognized(123_456));
    assert_eq!(ErrCode::Unrecognized(123_456).code(), 123_456);
    assert!(ErrCode::Unrecognized(123_456).info().is_none());
    assert_eq!(ErrCode::from_code(0), ErrCode::Unrecognized(0));
    assert_eq!(errcode::FREQUENCY_LIMIT, ErrCode::FrequencyLimit);
}
