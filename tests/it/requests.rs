//! Building requests the way users write them: integer literals, arrays and `vec!`s of `&str` go straight
//! into setters and constructors (this file failing to compile is the failure).
use wecom_externalcontact::models::*;

#[test]
fn setters_take_literals_arrays_and_vecs_of_str() {
    let members = vec!["zhangsan".to_string(), "lisi".to_string()];
    let r = BatchGetByUserRequest::new(members).limit(100);
    assert_eq!(r.limit, Some(100));
    assert_eq!(r.userid_list, ["zhangsan", "lisi"]);

    // A constructor's list argument takes an array of `&str` too.
    let r = BatchGetByUserRequest::new(["rocky"]).cursor("c1");
    assert_eq!(r.userid_list, vec!["rocky".to_string()]);
    assert_eq!(r.cursor.as_deref(), Some("c1"));

    let r = MarkTagRequest::new("zhangsan", "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA")
        .add_tag(["TAG_ID1", "TAG_ID2"])
        .remove_tag(vec!["TAG_ID3"]);
    assert_eq!(r.add_tag, Some(vec!["TAG_ID1".to_string(), "TAG_ID2".to_string()]));
    assert_eq!(r.remove_tag, Some(vec!["TAG_ID3".to_string()]));

    // Lists of objects take anything that converts into the object (here the objects themselves).
    let r = AddCorpTagRequest::new()
        .group_name("VIP")
        .order(1)
        .tag([NewCorpTag::new("gold").order(2), NewCorpTag::new("silver")]);
    let tags = r.tag.as_ref().unwrap();
    assert_eq!((tags[0].name.as_str(), tags[0].order), ("gold", Some(2)));
    assert_eq!((tags[1].name.as_str(), tags[1].order), ("silver", None));
    assert_eq!(r.order, Some(1));

    // An owned `Vec<String>` still works, and so does an iterator.
    let ids: Vec<String> = (1..=3).map(|i| format!("et{i}")).collect();
    let r = GetCorpTagListRequest::new()
        .tag_id(ids.iter().map(String::as_str))
        .group_id(ids.clone());
    assert_eq!(r.tag_id.as_ref().unwrap().len(), 3);
    assert_eq!(r.group_id, Some(ids));
}

use crate::support::calls_to as seen;

#[tokio::test]
async fn requests_breaking_a_rule_of_the_docs_are_refused_before_sending() {
    use wecom_externalcontact::catalog::{self, RequestRule};
    use wecom_externalcontact::Error;
    let s = wecom_externalcontact::standin::StandIn::start().await.unwrap();
    let client = s.client();

    // add_corp_tag with no group and no tag: both of its rules are broken, the first is named.
    let err = client.add_corp_tag(&AddCorpTagRequest::new()).await.unwrap_err();
    let Error::InvalidRequest { endpoint, message } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(endpoint, "externalcontact/add_corp_tag");
    assert!(message.contains("at_least_one_of [group_id, group_name]"), "{message}");
    // A group but no tag still breaks the second rule.
    let err = client
        .add_corp_tag(&AddCorpTagRequest::new().group_name("VIP").tag(Vec::<NewCorpTag>::new()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at_least_one_of [tag]"), "{err}");

    // mark_tag with neither add_tag nor remove_tag (an empty list counts as not set).
    let err = client
        .mark_tag(&MarkTagRequest::new("zhangsan", "wmA").remove_tag(Vec::<String>::new()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest { message, .. } if message.contains("[add_tag, remove_tag]")),
        "{err}"
    );
    // The raw-JSON path keeps the same rules.
    let err = client
        .call("externalcontact/del_corp_tag", serde_json::json!({ "tag_id": [] }))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("[tag_id, group_id]"), "{err}");

    // Nothing reached the stand-in (not even a token fetch was needed).
    for path in [
        "externalcontact/add_corp_tag",
        "externalcontact/mark_tag",
        "externalcontact/del_corp_tag",
    ] {
        assert_eq!(seen(&s, path), 0, "{path} was sent");
    }

    // Requests that keep the rules go through.
    client
        .add_corp_tag(
            &AddCorpTagRequest::new()
                .group_name("VIP")
                .tag([NewCorpTag::new("gold")]),
        )
        .await
        .unwrap();
    client
        .mark_tag(&MarkTagRequest::new("zhangsan", "wmA").add_tag(["et1"]))
        .await
        .unwrap();
    assert_eq!(seen(&s, "externalcontact/add_corp_tag"), 1);
    assert_eq!(seen(&s, "externalcontact/mark_tag"), 1);

    // The rules are catalog data.
    let ep = catalog::endpoint("externalcontact/mark_tag").unwrap();
    assert_eq!(ep.rules, &[RequestRule::AtLeastOneOf(&["add_tag", "remove_tag"])]);
}

#[tokio::test]
async fn the_stand_in_answers_40058_to_a_raw_request_breaking_a_rule() {
    let s = wecom_externalcontact::standin::StandIn::start().await.unwrap();
    let http = reqwest::Client::new();
    let base = s.base_url();
    let token: serde_json::Value = http
        .get(format!(
            "{base}/cgi-bin/gettoken?corpid=standin-corp&corpsecret=standin-secret"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    let post = |path: &str, body: serde_json::Value| {
        let send = http
            .post(format!("{base}/cgi-bin/{path}?access_token={token}"))
            .json(&body)
            .send();
        async move { send.await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let answer = post(
        "externalcontact/mark_tag",
        serde_json::json!({ "userid": "zhangsan", "external_userid": "wmA", "add_tag": [] }),
    )
    .await;
    assert_eq!(answer["errcode"], 40058, "{answer}");
    assert!(
        answer["errmsg"].as_str().unwrap().contains("add_tag, remove_tag"),
        "{answer}"
    );
    let answer = post("externalcontact/add_corp_tag", serde_json::json!({})).await;
    assert_eq!(answer["errcode"], 40058, "{answer}");
    // A request that keeps the rules is answered.
    let answer = post(
        "externalcontact/mark_tag",
        serde_json::json!({ "userid": "zhangsan", "external_userid": "wmA", "remove_tag": ["et1"] }),
    )
    .await;
    assert_eq!(answer["errcode"], 0, "{answer}");
}
