//! The trial of issue 22, as a new user writes it against the stateful stand-in: a CSV sync of every
//! customer–member pair with tag names, `fail_info` surfaced; the same sync stopped by a fault midway and
//! resumed from its last finished page, fetching no page twice; find-or-create a "VIP" tag and mark a
//! customer with it; and the two invalid writes refused before sending.
use futures_util::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use wecom_externalcontact::models::*;
use wecom_externalcontact::standin::{StandIn, World, WorldConfig};
use wecom_externalcontact::{Client, Error};

const BATCH: &str = "externalcontact/batch/get_by_user";

/// 30 members (3 without a 互通 licence) and 400 customers; pages of 40.
fn world() -> WorldConfig {
    WorldConfig {
        seed: 22,
        members: 30,
        customers: 400,
        unlicensed: 3,
        ..WorldConfig::default()
    }
}

async fn standin() -> StandIn {
    crate::support::world_standin(world()).await
}

/// One CSV line: external_userid, follow userid, remark, tag names (`;`-separated, in the follow's order).
fn csv_line(external_userid: &str, userid: &str, remark: &str, tags: &[&str]) -> String {
    format!("{external_userid},{userid},{remark},{}", tags.join(";"))
}

/// Where a sync stands: the rows written, the members reported unlicensed, and the request that fetches
/// the page after the last finished one (`None` before the first page and after the last).
#[derive(Default)]
struct Sync {
    rows: Vec<String>,
    unlicensed: BTreeSet<String>,
    resume: Option<BatchGetByUserRequest>,
    pages: usize,
    done: bool,
}

impl Sync {
    /// Pages batch/get_by_user from where the sync stands, writing rows; `after_page` runs after each
    /// finished page (before the next is asked for). Stops at the first error, keeping its place.
    async fn run(&mut self, client: &Client, mut after_page: impl FnMut(usize)) -> Result<(), Error> {
        let tags = client.get_corp_tag_list(&GetCorpTagListRequest::new()).await?;
        let names: BTreeMap<String, String> = tags
            .tag_group
            .into_iter()
            .flat_map(|g| g.tag)
            .map(|t| (t.id, t.name))
            .collect();
        let request = match self.resume.clone() {
            Some(r) => r,
            None => {
                let members = client.get_follow_user_list(&GetFollowUserListRequest::new()).await?;
                BatchGetByUserRequest::new(members.follow_user).limit(40)
            }
        };
        let mut pages = client.batch_get_by_user_pages(request);
        while let Some(page) = pages.next().await {
            let page = page?;
            for item in &page.items {
                let f = &item.follow_info;
                let tags: Vec<&str> = f.tag_id.iter().map(|id| names[id].as_str()).collect();
                let remark = f.remark.as_deref().unwrap_or("");
                self.rows.push(csv_line(
                    &item.external_contact.external_userid,
                    &f.userid,
                    remark,
                    &tags,
                ));
            }
            if let Some(fail) = page.partial.get("fail_info") {
                let ids = fail["unlicensed_userid_list"].as_array().into_iter().flatten();
                self.unlicensed
                    .extend(ids.filter_map(|v| v.as_str()).map(str::to_string));
            }
            self.pages += 1;
            self.resume = page.resume();
            self.done = self.resume.is_none();
            after_page(self.pages);
        }
        Ok(())
    }
}

/// The rows the world says a sync must write: each licensed customer–member pair once, tag names resolved.
fn truth(world: &World) -> Vec<String> {
    world
        .follows()
        .filter(|(_, f)| world.is_licensed(&f.userid))
        .map(|(c, f)| {
            let tags: Vec<&str> = f
                .tag_ids
                .iter()
                .map(|id| world.tag(id).unwrap().1.name.as_str())
                .collect();
            csv_line(&c.external_userid, &f.userid, &f.remark, &tags)
        })
        .collect()
}

fn sorted(mut rows: Vec<String>) -> Vec<String> {
    rows.sort();
    rows
}

/// The cursors of the batch/get_by_user requests the stand-in saw, in order ("" for a first page).
fn cursors(s: &StandIn) -> Vec<String> {
    s.requests()
        .iter()
        .filter(|r| r.path == BATCH)
        .map(|r| r.json.as_ref().unwrap()["cursor"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn a_csv_sync_matches_the_world_and_a_resumed_one_fetches_no_page_twice() {
    // (1) The whole sync in one go.
    let s = standin().await;
    let world = s.world().unwrap();
    let mut sync = Sync::default();
    sync.run(&s.client(), |_| {}).await.unwrap();
    assert!(sync.done);
    let expected = truth(&world);
    assert!(
        expected.len() > 400,
        "{} pairs: some customers have two followers",
        expected.len()
    );
    let unique: BTreeSet<&String> = sync.rows.iter().collect();
    assert_eq!(unique.len(), sync.rows.len(), "a customer–member pair twice");
    assert_eq!(sorted(sync.rows.clone()), sorted(expected));
    assert!(sync.rows.iter().any(|r| !r.ends_with(',')), "some rows have tag names");
    let unlicensed: BTreeSet<String> = world
        .members()
        .iter()
        .filter(|m| !m.licensed)
        .map(|m| m.userid.clone())
        .collect();
    assert_eq!(unlicensed.len(), 3);
    assert_eq!(sync.unlicensed, unlicensed, "fail_info surfaced");
    assert!(sync.pages >= 10, "{} pages", sync.pages);
    let all_cursors = cursors(&s);
    let first_rows = sync.rows;
    assert_eq!(all_cursors.len(), sync.pages, "one request per page");

    // (2) A fresh stand-in with the same seed (the same world): the sync fails after 4 pages, resumes.
    let s = standin().await;
    assert_eq!(s.world().unwrap(), world, "the same seed, the same world");
    let client = s.client();
    let mut sync = Sync::default();
    let err = sync
        .run(&client, |pages| {
            if pages == 4 {
                s.fail_next(BATCH, 60011, "no privilege to access/modify contact/party/agent");
            }
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { errcode: 60011, .. }), "{err}");
    assert_eq!((sync.pages, sync.done), (4, false));
    let before = cursors(&s);
    assert_eq!(before.len(), 5, "four pages and the failed fifth request");
    sync.run(&client, |_| {}).await.unwrap();
    assert!(sync.done);
    assert_eq!(sync.rows, first_rows, "the same rows, in the same order");
    // Every page was fetched once: the log is the uninterrupted run's cursors plus the one failed request.
    let after = cursors(&s);
    let mut want = all_cursors[..5].to_vec();
    want.extend(all_cursors[4..].iter().cloned());
    assert_eq!(after, want);
}

/// Finds the tag "VIP" in the library or creates it (in a group "会员"), then marks `customer` of `member`
/// with it; returns the tag id.
async fn mark_vip(client: &Client, member: &str, customer: &str) -> Result<String, Error> {
    let library = client.get_corp_tag_list(&GetCorpTagListRequest::new()).await?;
    let found = library.tag_group.iter().flat_map(|g| &g.tag).find(|t| t.name == "VIP");
    let id = match found {
        Some(tag) => tag.id.clone(),
        None => {
            let add = AddCorpTagRequest::new()
                .group_name("会员")
                .tag([NewCorpTag::new("VIP")]);
            let group = client.add_corp_tag(&add).await?.tag_group.expect("the group created");
            group.tag[0].id.clone()
        }
    };
    client
        .mark_tag(&MarkTagRequest::new(member, customer).add_tag([id.as_str()]))
        .await?;
    Ok(id)
}

#[tokio::test]
async fn find_or_create_vip_marks_the_customer_once_and_creates_one_tag() {
    let s = standin().await;
    let client = s.client();
    let world = s.world().unwrap();
    let (customer, follow) = world.follows().find(|(_, f)| world.is_licensed(&f.userid)).unwrap();
    let (customer, member) = (customer.external_userid.clone(), follow.userid.clone());
    assert!(world.tag_groups().iter().flat_map(|g| &g.tags).all(|t| t.name != "VIP"));

    let first = mark_vip(&client, &member, &customer).await.unwrap();
    let second = mark_vip(&client, &member, &customer).await.unwrap();
    assert_eq!(first, second, "the second run found the tag");
    let adds = crate::support::calls_to(&s, "externalcontact/add_corp_tag");
    assert_eq!(adds, 1, "one add_corp_tag over two runs");

    // get shows the tag on the customer's follow info of that member, once.
    let detail = client.get(&GetRequest::new(customer.as_str())).await.unwrap();
    let follow = detail.follow_user.iter().find(|f| f.userid == member).unwrap();
    let vip: Vec<&FollowUserTag> = follow
        .tags
        .iter()
        .filter(|t| t.tag_name.as_deref() == Some("VIP"))
        .collect();
    assert_eq!(vip.len(), 1, "{:?}", follow.tags);
    assert_eq!(vip[0].tag_id.as_deref(), Some(first.as_str()));
    assert_eq!(vip[0].group_name.as_deref(), Some("会员"));
    // The library holds one VIP, and so does the world.
    let library = client.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap();
    let vips = library
        .tag_group
        .iter()
        .flat_map(|g| &g.tag)
        .filter(|t| t.name == "VIP")
        .count();
    assert_eq!(vips, 1);
    let now = s.world().unwrap();
    assert_eq!(now.tag(&first).unwrap().0.group_name, "会员");
    let marked = now
        .customer(&customer)
        .unwrap()
        .follows
        .iter()
        .find(|f| f.userid == member)
        .unwrap();
    assert!(marked.tag_ids.contains(&first));

    // The two invalid writes of the trial are refused before sending (the rules: tests/it/requests.rs).
    s.clear_requests();
    let err = client.add_corp_tag(&AddCorpTagRequest::new()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err}");
    let err = client
        .mark_tag(&MarkTagRequest::new(member, customer))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err}");
    assert!(s.requests().is_empty(), "{:?}", s.requests());
}
