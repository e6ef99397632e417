//! Page streams: each page with its request, cursors and the endpoint's partial-failure fields (spec data),
//! and resuming a walk from a page.
use futures_util::{StreamExt, TryStreamExt};
use wecom_externalcontact::models::*;
use wecom_externalcontact::standin::StandIn;

const PATH: &str = "externalcontact/batch/get_by_user";

/// The example answer of batch/get_by_user with a `fail_info` naming `lisi`.
fn pages_answer(ep: &wecom_externalcontact::catalog::Endpoint) -> serde_json::Value {
    let mut answer: serde_json::Value = serde_json::from_str(ep.example_response.unwrap()).unwrap();
    answer["fail_info"] = serde_json::json!({ "unlicensed_userid_list": ["lisi"] });
    answer
}

#[tokio::test]
async fn page_streams_keep_fail_info_and_resume_without_refetching() {
    let s = StandIn::start().await.unwrap();
    let ep = wecom_externalcontact::catalog::endpoint(PATH).unwrap();
    assert_eq!(ep.paging.unwrap().partial, &["fail_info"], "spec data");
    s.set_response(PATH, pages_answer(ep));
    let client = s.client();
    let request = BatchGetByUserRequest::new(["rocky", "lisi"]).limit(100);

    // The stand-in pages the answer in three pages.
    let pages: Vec<_> = client
        .batch_get_by_user_pages(request.clone())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3);
    let cursors: Vec<Option<&str>> = pages.iter().map(|p| p.cursor()).collect();
    assert_eq!(cursors, [None, Some("standin-cursor-1"), Some("standin-cursor-2")]);
    assert_eq!(pages[0].next_cursor.as_deref(), Some("standin-cursor-1"));
    assert_eq!(pages[2].next_cursor, None, "the last page");
    assert!(pages[2].resume().is_none());
    for p in &pages {
        assert!(!p.items.is_empty());
        assert_eq!(
            p.partial["fail_info"]["unlicensed_userid_list"],
            serde_json::json!(["lisi"])
        );
    }
    let per_page = pages[0].items.len();

    // The item stream yields the same items (and drops fail_info).
    let items: Vec<CustomerWithFollowInfo> = client
        .batch_get_by_user_stream(request.clone())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(items.len(), 3 * per_page);

    // A sync that stopped after the first page resumes from it: the two pages after it, none fetched twice.
    // (A fresh stand-in, so its request log holds only this walk.)
    let s = StandIn::start().await.unwrap();
    s.set_response(PATH, pages_answer(ep));
    let client = s.client();
    let mut first = client.batch_get_by_user_pages(request.clone());
    let page1 = first.next().await.unwrap().unwrap();
    drop(first);
    let resume = page1.resume().expect("a next page");
    let rest: Vec<CustomerWithFollowInfo> = client.batch_get_by_user_stream(resume).try_collect().await.unwrap();
    assert_eq!(page1.items.len() + rest.len(), items.len());
    let cursors: Vec<Option<String>> = s
        .requests()
        .iter()
        .filter(|r| r.path == PATH)
        .map(|r| {
            r.json
                .as_ref()
                .unwrap()
                .get("cursor")
                .and_then(|c| c.as_str())
                .map(str::to_string)
        })
        .collect();
    assert_eq!(
        cursors,
        [
            None,
            Some("standin-cursor-1".to_string()),
            Some("standin-cursor-2".to_string())
        ],
        "each page once"
    );
}

#[tokio::test]
async fn pages_without_partial_failures_carry_none() {
    let s = StandIn::start().await.unwrap();
    let client = s.client();
    let pages: Vec<_> = client
        .batch_get_by_user_pages(BatchGetByUserRequest::new(["rocky"]))
        .try_collect()
        .await
        .unwrap();
    assert!(!pages.is_empty());
    assert!(
        pages.iter().all(|p| p.partial.is_empty()),
        "the example has no fail_info"
    );
}

/// Offset-paged endpoints have page streams too: each page with the request (offset) that fetched it and the
/// next offset, and a walk that stopped resumes from a page without fetching any page twice.
#[tokio::test]
async fn offset_page_streams_carry_offsets_and_resume_without_refetching() {
    const STAT: &str = "externalcontact/groupchat/statistic";
    let request = GroupchatStatisticRequest::new(1600272000, GroupChatStatisticOwnerFilter::new(["zhangsan"])).limit(4);
    let s = StandIn::start().await.unwrap();
    let client = s.client();
    let pages: Vec<_> = client
        .groupchat_statistic_pages(request.clone())
        .try_collect()
        .await
        .unwrap();
    let shape: Vec<(u64, usize, Option<u64>)> = pages
        .iter()
        .map(|p| (p.request.offset.map_or(0, u64::from), p.items.len(), p.next_offset))
        .collect();
    assert_eq!(shape, [(0, 4, Some(4)), (4, 4, Some(8)), (8, 2, None)]);
    assert!(pages[2].resume().is_none());
    assert!(pages.iter().all(|p| p.partial.is_empty()));

    // A fresh stand-in: the first page, then a resumed stream from it; each offset requested once.
    let s = StandIn::start().await.unwrap();
    let client = s.client();
    let mut first = client.groupchat_statistic_pages(request.clone());
    let page1 = first.next().await.unwrap().unwrap();
    drop(first);
    let rest: Vec<_> = client
        .groupchat_statistic_stream(page1.resume().expect("a next page"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(page1.items.len() + rest.len(), 10);
    let offsets: Vec<_> = s
        .requests()
        .iter()
        .filter(|r| r.path == STAT)
        .map(|r| r.json.as_ref().unwrap().get("offset").cloned())
        .collect();
    assert_eq!(offsets, [None, Some(serde_json::json!(4)), Some(serde_json::json!(8))]);
}
