//! The stand-in's world, checked directly: one seeded corp that every modelled endpoint reads (pages never
//! repeat, tag ids resolve, group chats hold the owner's customers), writes seen by the reads after them,
//! licence gaps in `fail_info`, and the same seed giving the same world.
use crate::support::world_standin as standin;
use futures_util::TryStreamExt;
use std::collections::BTreeSet;
use wecom_externalcontact::models::*;
use wecom_externalcontact::standin::{StandIn, World, WorldConfig};
use wecom_externalcontact::Error;

#[test]
fn the_same_seed_gives_the_same_world_and_another_seed_another() {
    let config = WorldConfig {
        seed: 5,
        unlicensed: 2,
        ..WorldConfig::default()
    };
    let a = World::generate(&config);
    assert_eq!(a, World::generate(&config));
    let b = World::generate(&WorldConfig {
        seed: 6,
        ..config.clone()
    });
    assert_ne!(a, b);
    // The sizes are the configuration's.
    assert_eq!(a.members().len(), 8);
    assert_eq!(a.customers().len(), 100);
    assert_eq!(a.tag_groups().len(), 3);
    assert!(a.tag_groups().iter().all(|g| g.tags.len() == 4));
    assert_eq!(a.strategy_tag_groups().len(), 1);
    assert_eq!(a.group_chats().len(), 10);
    assert_eq!(a.members().iter().filter(|m| !m.licensed).count(), 2);
    // Every tag on a customer is in the library; every chat member is the owner or one of its customers.
    for (_, f) in a.follows() {
        for id in &f.tag_ids {
            assert!(a.tag(id).is_some(), "{id}");
        }
    }
    for chat in a.group_chats() {
        assert_eq!(chat.members[0], chat.owner);
        for id in &chat.members[1..] {
            let c = a.customer(id).unwrap();
            assert!(
                c.follows.iter().any(|f| f.userid == chat.owner),
                "{id} in {}",
                chat.chat_id
            );
        }
    }
}

#[tokio::test]
async fn every_read_answers_from_the_one_world_and_pages_never_repeat() {
    let s = standin(WorldConfig {
        members: 5,
        customers: 60,
        group_chats: 25,
        ..WorldConfig::default()
    })
    .await;
    let client = s.client();
    let world = s.world().unwrap();

    // The library holds every tag id the customers carry, and get names them.
    let library = client.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap();
    let ids: BTreeSet<&str> = library
        .tag_group
        .iter()
        .flat_map(|g| &g.tag)
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(ids.len(), 12);
    let members = client
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap()
        .follow_user;
    let items: Vec<CustomerWithFollowInfo> = client
        .batch_get_by_user_stream(BatchGetByUserRequest::new(members.clone()).limit(7))
        .try_collect()
        .await
        .unwrap();
    let pairs: BTreeSet<(&str, &str)> = items
        .iter()
        .map(|i| {
            (
                i.external_contact.external_userid.as_str(),
                i.follow_info.userid.as_str(),
            )
        })
        .collect();
    assert_eq!(pairs.len(), items.len(), "no pair twice across pages");
    assert_eq!(items.len(), world.follows().count());
    let mut tagged = 0;
    for item in &items {
        assert!(members.contains(&item.follow_info.userid));
        for id in &item.follow_info.tag_id {
            assert!(ids.contains(id.as_str()), "{id} not in get_corp_tag_list");
            tagged += 1;
        }
    }
    assert!(tagged > 20, "{tagged} tags on customers");
    // list and get agree with batch/get_by_user.
    for m in &members {
        let listed = client
            .list(&ListRequest::new(m.as_str()))
            .await
            .unwrap()
            .external_userid;
        let batch: Vec<&str> = items
            .iter()
            .filter(|i| &i.follow_info.userid == m)
            .map(|i| i.external_contact.external_userid.as_str())
            .collect();
        assert_eq!(listed, batch, "{m}");
    }
    let item = items.iter().find(|i| !i.follow_info.tag_id.is_empty()).unwrap();
    let detail = client
        .get(&GetRequest::new(item.external_contact.external_userid.as_str()))
        .await
        .unwrap();
    let follow = detail
        .follow_user
        .iter()
        .find(|f| f.userid == item.follow_info.userid)
        .unwrap();
    assert_eq!(follow.remark, item.follow_info.remark);
    let tag_ids: Vec<&str> = follow.tags.iter().filter_map(|t| t.tag_id.as_deref()).collect();
    assert_eq!(tag_ids, item.follow_info.tag_id);
    for t in &follow.tags {
        let (group, tag) = world.tag(t.tag_id.as_deref().unwrap()).unwrap();
        assert_eq!(t.tag_name.as_deref(), Some(tag.name.as_str()));
        assert_eq!(t.group_name.as_deref(), Some(group.group_name.as_str()));
    }

    // Group chats: pages of 4 never repeat, owner filters hold, get details the chat from the world.
    let chats: Vec<GroupChatListItem> = client
        .groupchat_list_stream(GroupchatListRequest::new(4))
        .try_collect()
        .await
        .unwrap();
    let chat_ids: BTreeSet<&str> = chats.iter().map(|c| c.chat_id.as_str()).collect();
    assert_eq!((chats.len(), chat_ids.len()), (25, 25));
    let mine: Vec<GroupChatListItem> = client
        .groupchat_list_stream(
            GroupchatListRequest::new(2).owner_filter(GroupChatListOwnerFilter::new().userid_list(["member002"])),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        mine.len(),
        world.group_chats().iter().filter(|c| c.owner == "member002").count()
    );
    let chat = &world.group_chats()[1];
    let got = client
        .groupchat_get(&GroupchatGetRequest::new(chat.chat_id.as_str()).need_name(1))
        .await
        .unwrap()
        .group_chat;
    assert_eq!(got.owner.as_deref(), Some(chat.owner.as_str()));
    let got_members: Vec<&str> = got.member_list.iter().map(|m| m.userid.as_str()).collect();
    assert_eq!(got_members, chat.members);
    // A cursor the stand-in did not give is refused; one past the end is an empty last page.
    for (cursor, want) in [("bogus", Err(40058)), ("standin-offset-18446744073709551615", Ok(0))] {
        let request = GroupchatListRequest::new(1000).cursor(cursor);
        let got = client.groupchat_list(&request).await;
        let got = got.map(|r| r.group_chat_list.len()).map_err(|e| e.errcode().unwrap());
        assert_eq!(got, want, "{cursor}");
    }
    let err = client
        .groupchat_get(&GroupchatGetRequest::new("wrNobody"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { errcode: 40050, .. }), "{err}");
}

#[tokio::test]
async fn writes_change_what_the_reads_after_them_answer() {
    let s = standin(WorldConfig::sized(3, 12)).await;
    let client = s.client();
    let world = s.world().unwrap();
    let group = &world.tag_groups()[0];
    let tag = &group.tags[0];

    // edit_corp_tag renames a tag and a group; a clash is refused with 40071.
    client
        .edit_corp_tag(&EditCorpTagRequest::new(tag.id.as_str()).name("改名"))
        .await
        .unwrap();
    client
        .edit_corp_tag(&EditCorpTagRequest::new(group.group_id.as_str()).order(99))
        .await
        .unwrap();
    let taken = group.tags[1].name.as_str();
    let err = client
        .edit_corp_tag(&EditCorpTagRequest::new(tag.id.as_str()).name(taken))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { errcode: 40071, .. }), "{err}");
    let library = client
        .get_corp_tag_list(&GetCorpTagListRequest::new().group_id([group.group_id.as_str()]))
        .await
        .unwrap();
    assert_eq!(library.tag_group.len(), 1);
    assert_eq!(library.tag_group[0].order, Some(99));
    assert_eq!(library.tag_group[0].tag[0].name, "改名");

    // add_corp_tag into an existing group by id; get_corp_tag_list by tag id shows just it.
    let added = client
        .add_corp_tag(
            &AddCorpTagRequest::new()
                .group_id(group.group_id.as_str())
                .tag([NewCorpTag::new("新标签"), NewCorpTag::new("新标签")]),
        )
        .await
        .unwrap()
        .tag_group
        .unwrap();
    assert_eq!(added.tag.len(), 1, "the same name twice in one call makes one tag");
    let new_id = added.tag[0].id.clone();
    let by_tag = client
        .get_corp_tag_list(&GetCorpTagListRequest::new().tag_id([new_id.as_str()]))
        .await
        .unwrap();
    assert_eq!(by_tag.tag_group[0].tag.len(), 1);
    assert_eq!(by_tag.tag_group[0].tag[0].name, "新标签");

    // mark_tag and remark change the follow info; batch/get_by_user and get show it.
    let (customer, follow) = world.follows().next().unwrap();
    let (c, m) = (customer.external_userid.as_str(), follow.userid.as_str());
    client
        .mark_tag(
            &MarkTagRequest::new(m, c)
                .add_tag([new_id.as_str()])
                .remove_tag(follow.tag_ids.clone()),
        )
        .await
        .unwrap();
    client
        .remark(&RemarkRequest::new(m, c).remark("大客户").description("年度采购"))
        .await
        .unwrap();
    let page = client
        .batch_get_by_user(&BatchGetByUserRequest::new([m]).limit(100))
        .await
        .unwrap();
    let item = page
        .external_contact_list
        .iter()
        .find(|i| i.external_contact.external_userid == c)
        .unwrap();
    assert_eq!(item.follow_info.tag_id, [new_id.as_str()]);
    assert_eq!(item.follow_info.remark.as_deref(), Some("大客户"));
    let detail = client.get(&GetRequest::new(c)).await.unwrap();
    let f = detail.follow_user.iter().find(|f| f.userid == m).unwrap();
    assert_eq!(f.description.as_deref(), Some("年度采购"));
    // Unknown tags and pairs that are not contacts are refused as WeCom does.
    let err = client
        .mark_tag(&MarkTagRequest::new(m, c).add_tag(["etNoSuchTag"]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { errcode: 40068, .. }), "{err}");
    let err = client
        .remark(&RemarkRequest::new("member002", "wmNobody").remark("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { errcode: 84061, .. }), "{err}");

    // Strategy tags come from the world too; one marked on a customer is named in get with type 3.
    let strategy = client
        .get_strategy_tag_list(&GetStrategyTagListRequest::new())
        .await
        .unwrap();
    let group = &world.strategy_tag_groups()[0];
    assert_eq!(strategy.tag_group.len(), 1);
    assert_eq!(strategy.tag_group[0].strategy_id, group.strategy_id);
    let st = strategy.tag_group[0].tag[0].id.as_str();
    assert_eq!(st, group.tags[0].id);
    client.mark_tag(&MarkTagRequest::new(m, c).add_tag([st])).await.unwrap();
    let detail = client.get(&GetRequest::new(c)).await.unwrap();
    let f = detail.follow_user.iter().find(|f| f.userid == m).unwrap();
    let t = f.tags.iter().find(|t| t.tag_id.as_deref() == Some(st)).unwrap();
    assert_eq!(t.r#type, Some(FollowUserTagType::Strategy));
    assert_eq!(t.group_name.as_deref(), Some(group.group_name.as_str()));

    // del_corp_tag deletes the tag, takes it off every customer, and a group left empty goes too.
    client
        .del_corp_tag(&DelCorpTagRequest::new().tag_id([new_id.as_str()]))
        .await
        .unwrap();
    let after = s.world().unwrap();
    assert!(after.tag(&new_id).is_none());
    assert!(after.follows().all(|(_, f)| !f.tag_ids.contains(&new_id)));
    let last = &world.tag_groups()[2];
    client
        .del_corp_tag(&DelCorpTagRequest::new().group_id([last.group_id.as_str()]))
        .await
        .unwrap();
    let library = client.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap();
    assert!(library.tag_group.iter().all(|g| g.group_id != last.group_id));
    assert_eq!(library.tag_group.len(), 2);
}

#[tokio::test]
async fn licence_gaps_are_reported_in_fail_info_and_701008_when_no_member_has_one() {
    let config = WorldConfig {
        members: 6,
        customers: 30,
        unlicensed: 2,
        ..WorldConfig::default()
    };
    let s = standin(config).await;
    let client = s.client();
    let world = s.world().unwrap();
    let (gaps, licensed): (Vec<_>, Vec<_>) = world.members().iter().partition(|m| !m.licensed);
    let all: Vec<&str> = world.members().iter().map(|m| m.userid.as_str()).collect();
    let page = client
        .batch_get_by_user(&BatchGetByUserRequest::new(all).limit(100))
        .await
        .unwrap();
    let reported = page.fail_info.unwrap().unlicensed_userid_list;
    let want: Vec<&str> = gaps.iter().map(|m| m.userid.as_str()).collect();
    assert_eq!(reported, want);
    let follows = |ms: &[&wecom_externalcontact::standin::Member]| {
        world
            .follows()
            .filter(|(_, f)| ms.iter().any(|m| m.userid == f.userid))
            .count()
    };
    assert_eq!(page.external_contact_list.len(), follows(&licensed));
    assert!(follows(&gaps) > 0, "the gaps' customers exist and are left out");
    let err = client
        .batch_get_by_user(&BatchGetByUserRequest::new(want))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { errcode: 701008, .. }), "{err}");
}

#[tokio::test]
async fn a_response_set_with_an_empty_next_cursor_is_one_page() {
    // The examples mode (no world): a set response is paged unless its next cursor is "".
    let s = StandIn::start().await.unwrap();
    let path = "externalcontact/batch/get_by_user";
    let ep = wecom_externalcontact::catalog::endpoint(path).unwrap();
    let mut answer: serde_json::Value = serde_json::from_str(ep.example_response.unwrap()).unwrap();
    answer["next_cursor"] = "".into();
    s.set_response(path, answer);
    let items: Vec<CustomerWithFollowInfo> = s
        .client()
        .batch_get_by_user_stream(BatchGetByUserRequest::new(["rocky"]))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(items.len(), 2, "the example's two items, once");
    assert_eq!(crate::support::calls_to(&s, path), 1);

    // With a world, a set response still wins over it.
    let s = standin(WorldConfig::default()).await;
    s.set_response(
        "externalcontact/get_follow_user_list",
        serde_json::json!({ "errcode": 0, "errmsg": "ok", "follow_user": ["only"] }),
    );
    let members = s
        .client()
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap()
        .follow_user;
    assert_eq!(members, ["only"]);
}
