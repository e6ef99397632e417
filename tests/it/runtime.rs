//! The runtime under the generated methods: tokens, errors, secrecy, paging streams, uploads, token kinds.
//!
//! Tests of token expiry and of concurrent first calls run on tokio's paused clock (`start_paused`, see
//! `wecom_externalcontact::clock`): the stand-in's delays and the tokens' lifetimes are virtual, exact, and
//! independent of how loaded the machine is.

use crate::support;
use futures_util::StreamExt;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use wecom_externalcontact::models::*;
use wecom_externalcontact::standin::{StandIn, StandInConfig};
use wecom_externalcontact::token::StaticToken;
use wecom_externalcontact::{Client, Error, TokenKind};

const SECRET: &str = "SUPER-SECRET-corpsecret-7f3a";

async fn slow_standin() -> StandIn {
    let config = StandInConfig {
        secret: SECRET.into(),
        gettoken_delay: Duration::from_millis(50),
        ..Default::default()
    };
    StandIn::start_with(config).await.unwrap()
}

fn client_for(s: &StandIn) -> Client {
    Client::builder()
        .corp_id(s.corp_id())
        .secret(SECRET)
        .base_url(s.base_url())
        .build()
        .unwrap()
}

use crate::support::calls_to;

/// A stand-in that has issued its first token (`standin-token-1`) to a client call, and that token.
async fn standin_with_first_token() -> (StandIn, &'static str) {
    let s = StandIn::start().await.unwrap();
    s.client()
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap();
    (s, "standin-token-1")
}

#[tokio::test(start_paused = true)]
async fn two_hundred_cold_calls_fetch_one_token() {
    let s = slow_standin().await;
    let client = client_for(&s);
    let results = support::concurrently(200, &client, |_, c| async move {
        c.get_follow_user_list(&GetFollowUserListRequest::new()).await
    })
    .await;
    for r in results {
        r.expect("every call succeeds");
    }
    assert_eq!(s.gettoken_count(), 1, "one gettoken for 200 concurrent first calls");
    assert_eq!(client.gettoken_count(), 1);
    assert_eq!(calls_to(&s, "externalcontact/get_follow_user_list"), 200);
}

#[tokio::test(start_paused = true)]
async fn expired_token_is_refreshed_once_for_concurrent_callers() {
    let s = slow_standin().await;
    let client = client_for(&s);
    client
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap();
    assert_eq!(s.gettoken_count(), 1);
    s.expire_tokens();
    let results = support::concurrently(50, &client, |_, c| async move {
        c.get_corp_tag_list(&GetCorpTagListRequest::new()).await
    })
    .await;
    for r in results {
        r.expect("replayed after the refresh");
    }
    assert_eq!(
        s.gettoken_count(),
        2,
        "one refresh shared by all callers that saw 42001"
    );
}

#[test]
fn client_is_clone_send_sync() {
    fn assert<T: Clone + Send + Sync + 'static>() {}
    assert::<Client>();
    assert::<Error>();
}

#[tokio::test(start_paused = true)]
async fn token_is_refreshed_before_it_expires() {
    // expires_in = 1 s: the client stops using it 10% early (after 900 ms), and then fetches a new one on its
    // own — without ever sending the old one and getting 42001. On the paused clock the edge is exact.
    let s = StandIn::start_with(StandInConfig {
        token_ttl_secs: 1,
        ..Default::default()
    })
    .await
    .unwrap();
    let client = s.client();
    let request = GetFollowUserListRequest::new();
    let call = || async { client.get_follow_user_list(&request).await.unwrap() };
    call().await;
    call().await;
    assert_eq!(s.gettoken_count(), 1, "cached while fresh");
    tokio::time::sleep(Duration::from_millis(899)).await;
    call().await;
    assert_eq!(s.gettoken_count(), 1, "still used 899 ms after it was fetched");
    tokio::time::sleep(Duration::from_millis(1)).await;
    call().await;
    assert_eq!(s.gettoken_count(), 2, "refreshed ahead of expiry");
    assert_eq!(
        calls_to(&s, "externalcontact/get_follow_user_list"),
        4,
        "no call was rejected and replayed"
    );
}

#[tokio::test]
async fn a_shared_token_store_serves_several_clients() {
    let s = StandIn::start().await.unwrap();
    let store: Arc<dyn wecom_externalcontact::token::TokenStore> =
        Arc::new(wecom_externalcontact::token::MemoryTokenStore::default());
    let make = || {
        Client::builder()
            .corp_id(s.corp_id())
            .secret(s.secret())
            .base_url(s.base_url())
            .token_store(store.clone())
            .build()
            .unwrap()
    };
    let (a, b) = (make(), make());
    a.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap();
    b.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap();
    assert_eq!(
        s.gettoken_count(),
        1,
        "the second client found the first one's token in the store"
    );
    assert_eq!((a.gettoken_count(), b.gettoken_count()), (1, 0));
}

#[tokio::test]
async fn a_token_provider_of_your_own() {
    // Obtain a token elsewhere (here: from the stand-in) and hand it in.
    let (s, issued) = standin_with_first_token().await;
    let client = Client::builder()
        .base_url(s.base_url())
        .token_provider(TokenKind::Access, Arc::new(StaticToken::new(issued)))
        .build()
        .unwrap();
    client.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap();
    assert_eq!(s.gettoken_count(), 1);
    assert_eq!(client.gettoken_count(), 0);
}

#[tokio::test]
async fn errcode_40014_is_handled_like_42001() {
    let s = slow_standin().await;
    let client = client_for(&s);
    client
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap();
    s.fail_next("externalcontact/get_corp_tag_list", 40014, "invalid access_token");
    client
        .get_corp_tag_list(&GetCorpTagListRequest::new())
        .await
        .expect("replayed once");
    assert_eq!(s.gettoken_count(), 2);
    assert_eq!(calls_to(&s, "externalcontact/get_corp_tag_list"), 2);
}

#[tokio::test]
async fn replay_is_bounded_at_one() {
    let s = slow_standin().await;
    let client = client_for(&s);
    s.set_response(
        "externalcontact/get_corp_tag_list",
        json!({ "errcode": 40001, "errmsg": "invalid credential" }),
    );
    let err = client
        .get_corp_tag_list(&GetCorpTagListRequest::new())
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40001));
    assert_eq!(
        calls_to(&s, "externalcontact/get_corp_tag_list"),
        2,
        "the call and one replay, never more"
    );
    assert_eq!(s.gettoken_count(), 2);
}

#[tokio::test]
async fn a_bad_secret_is_not_retried() {
    let s = StandIn::start().await.unwrap();
    let client = Client::builder()
        .corp_id(s.corp_id())
        .secret("wrong")
        .base_url(s.base_url())
        .build()
        .unwrap();
    let err = client
        .get_corp_tag_list(&GetCorpTagListRequest::new())
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40001));
    assert_eq!(calls_to(&s, "gettoken"), 1);
    // The typed gettoken method (no token of its own) is not replayed either.
    let err = client
        .gettoken(&GettokenRequest::new(s.corp_id(), "wrong"))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40001));
    assert_eq!(calls_to(&s, "gettoken"), 2);
    assert_eq!(calls_to(&s, "externalcontact/get_corp_tag_list"), 0);
}

#[tokio::test]
async fn api_errors_carry_code_message_and_endpoint() {
    let s = StandIn::start().await.unwrap();
    let client = s.client();
    s.fail_next("externalcontact/groupchat/get", 49008, "the chat does not exist");
    let err = client
        .groupchat_get(&GroupchatGetRequest::new("wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA"))
        .await
        .unwrap_err();
    match &err {
        Error::Api {
            endpoint,
            errcode,
            errmsg,
        } => {
            assert_eq!(endpoint, "externalcontact/groupchat/get");
            assert_eq!(*errcode, 49008);
            assert_eq!(errmsg, "the chat does not exist");
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    assert_eq!(s.gettoken_count(), 1, "a non-token errcode is not retried");
}

#[tokio::test]
async fn decode_errors_name_the_endpoint_and_show_an_excerpt() {
    let s = StandIn::start().await.unwrap();
    s.set_response(
        "externalcontact/get_follow_user_list",
        json!({ "errcode": 0, "follow_user": "not a list" }),
    );
    let err = s
        .client()
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap_err();
    match &err {
        Error::Decode { endpoint, excerpt, .. } => {
            assert_eq!(endpoint, "externalcontact/get_follow_user_list");
            assert!(excerpt.contains("not a list"));
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn transport_and_timeout_errors() {
    // A port that is held but refuses connections.
    let closed = support::ClosedPort::new();
    let port = closed.port();
    let client = Client::builder()
        .corp_id("c")
        .secret(SECRET)
        .base_url(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let err = client
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport { ref endpoint, .. } if endpoint == "gettoken"),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains(SECRET));

    // A server that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let client = Client::builder()
        .corp_id("c")
        .secret(SECRET)
        .base_url(format!("http://{addr}"))
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = client
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    hold.abort();
}

#[tokio::test]
async fn configuration_errors() {
    assert!(matches!(Client::builder().secret("s").build(), Err(Error::Config(_))));
    assert!(matches!(Client::builder().corp_id("c").build(), Err(Error::Config(_))));
    assert!(matches!(
        Client::builder().corp_id("c").secret("s").base_url("not a url").build(),
        Err(Error::Config(_))
    ));
}

#[tokio::test]
async fn no_secret_or_token_in_errors_debug_or_display() {
    let s = StandIn::start_with(StandInConfig {
        secret: "the-right-one".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let client = Client::builder()
        .corp_id(s.corp_id())
        .secret(SECRET)
        .base_url(s.base_url())
        .build()
        .unwrap();
    let err = client
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40001));
    let dbg = format!("{err} {err:?} {client:?} {:?}", Client::builder().secret(SECRET));
    assert!(!dbg.contains(SECRET), "{dbg}");

    // A token that WeCom issued never shows either, even when the server then fails.
    let good = s.client();
    good.get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap();
    s.set_response(
        "externalcontact/get_corp_tag_list",
        json!({ "errcode": 0, "tag_group": 5 }),
    );
    let err = good.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap_err();
    let text = format!("{err} {err:?} {good:?}");
    assert!(!text.contains("standin-token-"), "{text}");
}

#[tokio::test]
async fn invalid_requests_are_refused_before_sending() {
    let s = StandIn::start().await.unwrap();
    let client = s.client();
    let err = client
        .call(
            "externalcontact/groupchat/get",
            json!({ "chat_id": "x", "no_such_field": 1 }),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    let err = client
        .call("externalcontact/groupchat/get", json!({ "need_name": 1 }))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "missing chat_id: {err:?}");
    let err = client
        .call("externalcontact/no_such_thing", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert!(s.requests().is_empty(), "nothing was sent");
    let ok = client
        .call(
            "/cgi-bin/externalcontact/groupchat/get",
            json!({ "chat_id": "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA" }),
        )
        .await
        .unwrap();
    assert!(ok["group_chat"]["chat_id"].is_string());
}

#[tokio::test]
async fn wrong_token_kind_is_refused_before_sending() {
    let s = StandIn::start().await.unwrap();
    let corp = s.client();
    let err = corp
        .service_customer_acquisition_get_bill_list(&ServiceCustomerAcquisitionGetBillListRequest::new(1, 2, "corp"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidRequest { ref message, .. } if message.contains("Suite")),
        "{err:?}"
    );
    let suite = Client::builder()
        .base_url(s.base_url())
        .token_provider(TokenKind::Suite, Arc::new(StaticToken::new("suite-token")))
        .build()
        .unwrap();
    let err = suite
        .get_corp_tag_list(&GetCorpTagListRequest::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert!(s.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn cursor_stream_walks_three_pages_and_resumes() {
    let s = StandIn::start().await.unwrap();
    let client = s.client();
    let per_page = client
        .list_contact_way(&ListContactWayRequest::new())
        .await
        .unwrap()
        .contact_way
        .len();
    assert!(per_page > 0, "the official example has items");
    s.clear_requests();
    let all: Vec<_> = client
        .list_contact_way_stream(ListContactWayRequest::new().limit(100u32))
        .collect()
        .await;
    assert_eq!(all.len(), 3 * per_page);
    assert!(all.iter().all(Result::is_ok));
    let cursors: Vec<_> = s
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("list_contact_way"))
        .map(|r| r.json.as_ref().unwrap().get("cursor").cloned())
        .collect();
    assert_eq!(
        cursors,
        vec![None, Some(json!("standin-cursor-1")), Some(json!("standin-cursor-2"))]
    );

    // Resume from a saved cursor: only the remaining pages.
    let rest: Vec<_> = client
        .list_contact_way_stream(ListContactWayRequest::new().cursor("standin-cursor-1"))
        .collect()
        .await;
    assert_eq!(rest.len(), 2 * per_page);
}

#[tokio::test]
async fn stream_splits_capped_lists_and_stops_on_errors() {
    let s = StandIn::start().await.unwrap();
    let client = s.client();
    let ids: Vec<String> = (0..250).map(|i| format!("user{i}")).collect();
    let items: Vec<_> = client
        .batch_get_by_user_stream(BatchGetByUserRequest::new(ids))
        .collect()
        .await;
    assert!(items.iter().all(Result::is_ok));
    let sizes: Vec<usize> = s
        .requests()
        .iter()
        .filter(|r| r.path == "externalcontact/batch/get_by_user")
        .map(|r| r.json.as_ref().unwrap()["userid_list"].as_array().unwrap().len())
        .collect();
    assert_eq!(
        sizes,
        vec![100, 100, 100, 100, 100, 100, 50, 50, 50],
        "3 chunks (100, 100, 50) × 3 pages"
    );

    // (Not 45009: a read waits out a frequency block, see tests/it/limits.rs.)
    s.fail_next("externalcontact/list_contact_way", 60011, "no privilege");
    let items: Vec<_> = client
        .list_contact_way_stream(ListContactWayRequest::new())
        .collect()
        .await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().unwrap_err().errcode(), Some(60011));
}

#[tokio::test]
async fn offset_stream_advances_until_a_short_page() {
    let s = StandIn::start().await.unwrap();
    let client = s.client();
    let req = GroupchatStatisticRequest::new(
        1600272000,
        GroupChatStatisticOwnerFilter::new(vec!["zhangsan".to_string()]),
    )
    .limit(4u32);
    let items: Vec<_> = client.groupchat_statistic_stream(req).collect().await;
    assert_eq!(items.len(), 4 + 4 + 2);
    let offsets: Vec<_> = s
        .requests()
        .iter()
        .filter(|r| r.path == "externalcontact/groupchat/statistic")
        .map(|r| r.json.as_ref().unwrap().get("offset").cloned())
        .collect();
    assert_eq!(offsets, vec![None, Some(json!(4)), Some(json!(8))]);
}

#[tokio::test]
async fn upload_sends_a_multipart_file_with_query_parameters() {
    let s = StandIn::start().await.unwrap();
    let client = s.client();
    let dir = std::env::temp_dir().join(format!("wecom-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cover.jpg");
    std::fs::write(&path, b"JPEG-BYTES-0123456789").unwrap();
    let file = wecom_externalcontact::Upload::from_path(&path)
        .await
        .unwrap()
        .content_type("image/jpeg");
    let req: MediaUploadAttachmentRequest =
        serde_json::from_value(json!({ "media_type": "image", "attachment_type": 1 })).unwrap();
    let resp = client.media_upload_attachment(&req, file).await.unwrap();
    assert!(serde_json::to_value(&resp).unwrap()["media_id"].is_string());
    let r = s
        .requests()
        .into_iter()
        .find(|r| r.path == "media/upload_attachment")
        .unwrap();
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.query,
        vec![
            ("media_type".to_string(), "image".to_string()),
            ("attachment_type".to_string(), "1".to_string())
        ]
    );
    let ct = r.content_type.unwrap();
    let boundary = ct.split("boundary=").nth(1).expect("a multipart boundary");
    let body = String::from_utf8_lossy(&r.body);
    let parts: Vec<&str> = body
        .split(&format!("--{boundary}"))
        .filter(|p| p.contains("Content-Disposition"))
        .collect();
    assert_eq!(parts.len(), 1, "one part");
    assert!(
        parts[0].contains("name=\"media\"") && parts[0].contains("filename=\"cover.jpg\""),
        "{}",
        parts[0]
    );
    assert!(parts[0].contains("Content-Type: image/jpeg") && parts[0].contains("JPEG-BYTES-0123456789"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_replaced_authorization_calls_are_deprecated_and_name_their_replacement() {
    use wecom_externalcontact::catalog::endpoint;
    for (old, new) in [
        ("service/get_permanent_code", "service/v2/get_permanent_code"),
        ("service/get_auth_info", "service/v2/get_auth_info"),
        ("service/get_admin_list", "agent/get_admin_list"),
    ] {
        let note = endpoint(old)
            .unwrap()
            .deprecated
            .unwrap_or_else(|| panic!("{old} is deprecated"));
        assert!(note.contains(new), "{old}: {note}");
        assert!(endpoint(new).unwrap().deprecated.is_none(), "{new}");
    }
    // The replacement of service/get_admin_list takes the corp's token, not the suite's.
    assert_eq!(
        format!("{:?}", endpoint("agent/get_admin_list").unwrap().token),
        format!("{:?}", endpoint("externalcontact/list").unwrap().token)
    );
}

#[test]
fn catalog_covers_the_census_with_official_methods() {
    // The census (a copy of the project's endpoints.tsv, kept in the repo): every row must be in the catalog,
    // with the official method, doc id and paging style. Nothing asserts a total, so a spec-only addition
    // keeps this test green.
    let census = include_str!("../fixtures/endpoints.tsv");
    let mut rows = 0;
    for line in census.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (path, method) = (cols[1], cols[2]);
        let ep = wecom_externalcontact::catalog::endpoint(path)
            .unwrap_or_else(|| panic!("{path} is missing from the catalog"));
        assert_eq!(ep.method, method, "{path}");
        let paging = ep
            .paging
            .map(|p| format!("{:?}", p.style).to_lowercase())
            .unwrap_or_else(|| "none".into());
        assert_eq!(paging, cols[5], "{path}: paging style");
        if !cols[4].is_empty() {
            assert!(
                ep.doc_url.ends_with(&format!("/{}", cols[4])),
                "{path}: doc {} vs census {}",
                ep.doc_url,
                cols[4]
            );
        }
        rows += 1;
    }
    assert!(rows > 100, "the census fixture was read ({rows} rows)");
    assert_eq!(
        format!(
            "{:?}",
            wecom_externalcontact::catalog::endpoint("externalcontact/groupchat/get")
                .unwrap()
                .method
        ),
        "POST"
    );
}

#[tokio::test]
async fn the_standin_checks_tokens_and_request_shapes_like_wecom() {
    let (s, token) = standin_with_first_token().await;
    let http = reqwest::Client::new();
    let url = format!("{}/cgi-bin/externalcontact/groupchat/get", s.base_url());
    let post = |query: Vec<(&'static str, &'static str)>, body: &'static str| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            http.post(url)
                .query(&query)
                .body(body)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        post(vec![], r#"{"chat_id":"x"}"#).await["errcode"],
        41001,
        "missing token"
    );
    assert_eq!(
        post(vec![("access_token", "forged")], r#"{"chat_id":"x"}"#).await["errcode"],
        40014,
        "unknown token"
    );
    assert_eq!(post(vec![("access_token", token)], "not json").await["errcode"], 47001);
    let r = post(vec![("access_token", token)], r#"{"chat_id":"x","need_name":"yes"}"#).await;
    assert_eq!(r["errcode"], 40058, "a mistyped field: {r}");
    let r = post(vec![("access_token", token)], r#"{"need_name":1}"#).await;
    assert_eq!(r["errcode"], 40058, "a missing required field: {r}");
    let r = post(vec![("access_token", token)], r#"{"chat_id":"x"}"#).await;
    assert_eq!(r["errcode"], 0);
    assert!(r["group_chat"]["member_list"].is_array());
    let status = http
        .get(&url)
        .query(&[("access_token", token)])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 405, "groupchat/get is POST only");
}

#[tokio::test]
async fn the_standin_keeps_only_the_newest_requests() {
    let s = StandIn::start().await.unwrap();
    let client = s.client();
    let request = GetFollowUserListRequest::new();
    let call = || client.get_follow_user_list(&request);
    s.set_request_log_limit(5);
    for _ in 0..8 {
        call().await.unwrap();
    }
    let kept = s.requests();
    assert_eq!(kept.len(), 5, "the limit holds");
    assert!(
        kept.iter().all(|r| r.path == "externalcontact/get_follow_user_list"),
        "the oldest (gettoken first) went first: {:?}",
        kept.iter().map(|r| &r.path).collect::<Vec<_>>()
    );

    s.set_request_log_limit(2);
    assert_eq!(s.requests().len(), 2, "lowering the limit forgets the oldest at once");
    s.set_request_log_limit(0);
    call().await.unwrap();
    assert_eq!(s.requests().len(), 0, "0 records nothing");
    s.set_request_log_limit(wecom_externalcontact::standin::DEFAULT_REQUEST_LOG_LIMIT);
    call().await.unwrap();
    assert_eq!(s.requests().len(), 1);
}

#[tokio::test]
async fn the_standin_answers_the_example_with_its_cursor_set() {
    let (s, token) = standin_with_first_token().await;
    let get = |cursor: &'static str| {
        let url = format!("{}/cgi-bin/externalcontact/get", s.base_url());
        async move {
            let mut query = vec![("access_token", token), ("external_userid", "wm1")];
            if !cursor.is_empty() {
                query.push(("cursor", cursor));
            }
            let r = reqwest::Client::new().get(url).query(&query).send().await.unwrap();
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let example: serde_json::Value = serde_json::from_str(
        wecom_externalcontact::catalog::endpoint("externalcontact/get")
            .and_then(|ep| ep.example_response)
            .unwrap(),
    )
    .unwrap();
    let mut want = example.clone();
    want["next_cursor"] = json!("standin-cursor-1");
    assert_eq!(get("").await, want, "the example, next_cursor pointing at page 2");
    want["next_cursor"] = json!("");
    assert_eq!(get("standin-cursor-2").await, want, "the last page has no next cursor");

    // An answer set by the test gets the cursor field added when it lacks one.
    s.set_response(
        "externalcontact/get",
        json!({ "errcode": 0, "errmsg": "ok", "follow_user": [] }),
    );
    assert_eq!(
        get("").await,
        json!({ "errcode": 0, "errmsg": "ok", "follow_user": [], "next_cursor": "standin-cursor-1" })
    );
}

#[tokio::test]
async fn the_standin_answers_45033_to_concurrent_edits_of_one_customer() {
    let (s, token) = standin_with_first_token().await;
    let path = "externalcontact/mark_tag";
    s.delay_responses(path, Duration::from_millis(150));
    let url = format!("{}/cgi-bin/{path}", s.base_url());
    let edit = |member: &'static str, customer: &'static str| {
        let url = url.clone();
        async move {
            let body = json!({ "userid": member, "external_userid": customer, "add_tag": ["et1"] });
            let r = reqwest::Client::new()
                .post(url)
                .query(&[("access_token", token)])
                .json(&body)
                .send()
                .await
                .unwrap();
            r.json::<serde_json::Value>().await.unwrap()["errcode"].as_i64()
        }
    };
    // Raw calls, without the client's turns: WeCom's answer to two edits of one customer at once.
    let (a, b) = tokio::join!(edit("zhangsan", "wmSAME"), edit("lisi", "wmSAME"));
    let mut codes = [a, b];
    codes.sort();
    assert_eq!(codes, [Some(0), Some(45033)]);
    // Other customers at once, and the same customer afterwards, are fine.
    let (a, b) = tokio::join!(edit("zhangsan", "wm1"), edit("zhangsan", "wm2"));
    assert_eq!((a, b), (Some(0), Some(0)));
    assert_eq!(edit("lisi", "wmSAME").await, Some(0));
}
