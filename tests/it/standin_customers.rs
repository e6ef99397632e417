//! The stand-in's world seen through the customer endpoints: they answer from it, really paged, through the
//! typed client and its streams.
use futures_util::TryStreamExt;
use std::collections::BTreeSet;
use wecom_externalcontact::models::*;
use wecom_externalcontact::standin::{StandIn, World, WorldConfig};
use wecom_externalcontact::Error;

async fn standin(members: usize, customers: usize) -> StandIn {
    crate::support::world_standin(WorldConfig::sized(members, customers)).await
}

#[tokio::test]
async fn batch_get_by_user_pages_through_the_data_set() {
    let data = World::generate(&WorldConfig::sized(250, 700));
    assert_eq!(data.customers().len(), 700);
    assert_eq!(
        data.follows().count(),
        875,
        "every fourth customer has a second follower"
    );
    let data_members: Vec<String> = data.members().iter().map(|m| m.userid.clone()).collect();
    let s = standin(250, 700).await;
    let client = s.client();
    let members = client
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap()
        .follow_user;
    assert_eq!(members, data_members);

    // The stream splits the 250 members into requests of at most 100 and follows every cursor.
    let items: Vec<CustomerWithFollowInfo> = client
        .batch_get_by_user_stream(BatchGetByUserRequest::new(members.clone()).limit(30u32))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(items.len(), 875);
    let pairs: BTreeSet<(String, String)> = items
        .iter()
        .map(|i| (i.external_contact.external_userid.clone(), i.follow_info.userid.clone()))
        .collect();
    assert_eq!(pairs.len(), 875, "no pair twice");
    let pages = crate::support::calls_to(&s, "externalcontact/batch/get_by_user");
    // One request per page of 30 of each chunk of 100, 100 and 50 members.
    let expected: usize = members
        .chunks(100)
        .map(|chunk| {
            let n = data.follows().filter(|(_, f)| chunk.contains(&f.userid)).count();
            n.div_ceil(30).max(1)
        })
        .sum();
    assert!(expected >= 30, "{expected} pages");
    assert_eq!(pages, expected);
    for r in &crate::support::requests_to(&s, "externalcontact/batch/get_by_user") {
        let n = r.json.as_ref().unwrap()["userid_list"].as_array().unwrap().len();
        assert!(n <= 100, "{n} userids in one request");
    }

    // More than 100 userids at once is refused, as WeCom does.
    let err = client
        .batch_get_by_user(&BatchGetByUserRequest::new(members.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { errcode: 40058, .. }), "{err}");
}

#[tokio::test]
async fn list_and_get_answer_from_the_data_set() {
    let s = standin(3, 10).await;
    let client = s.client();
    let ids = client
        .list(&ListRequest::new("member001"))
        .await
        .unwrap()
        .external_userid;
    // Customers 0, 3, 6, 9 are member001's own; 8 is member003's (8 % 3 == 2) and also the next member's,
    // member001 (every fourth customer has a second follower).
    assert_eq!(
        ids,
        [
            "wmStandIn000000",
            "wmStandIn000003",
            "wmStandIn000006",
            "wmStandIn000008",
            "wmStandIn000009"
        ]
    );
    let detail = client.get(&GetRequest::new("wmStandIn000008")).await.unwrap();
    assert_eq!(detail.external_contact.name, "客户8");
    let followers: Vec<String> = detail.follow_user.into_iter().map(|f| f.userid).collect();
    assert_eq!(followers, ["member003", "member001"]);
    // An unknown customer is refused as WeCom does (40096 invalid external_userid), an unknown member too.
    let err = client.get(&GetRequest::new("wmNobody")).await.unwrap_err();
    assert!(matches!(err, Error::Api { errcode: 40096, .. }), "{err}");
    let err = client.list(&ListRequest::new("nobody")).await.unwrap_err();
    assert!(matches!(err, Error::Api { errcode: 40003, .. }), "{err}");
}
