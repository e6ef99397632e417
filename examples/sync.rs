//! A customer sync as an SCRM writes it: every customer–member pair to CSV with tag names, the members WeCom
//! reports without a 互通 licence (`fail_info`), a resume from the last finished page after a failure, then
//! find-or-create a "VIP" tag and mark a customer with it; a write the docs forbid is refused before sending.
//!
//! With `WECOM_CORP_ID` and `WECOM_SECRET` set it syncs that corp (and marks its first customer VIP); without
//! them it runs on the embedded stand-in's seeded world, where it also breaks the sync midway to show the
//! resume. The CSV goes to stdout; progress to stderr. `tests/it/trial.rs` checks the same flow against the
//! stand-in's world.
//!
//! ```text
//! cargo run --example sync > customers.csv
//! ```
use futures_util::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use wecom_externalcontact::models::{
    AddCorpTagRequest, BatchGetByUserRequest, GetCorpTagListRequest, GetFollowUserListRequest, MarkTagRequest,
    NewCorpTag,
};
use wecom_externalcontact::standin::{StandIn, StandInConfig, WorldConfig};
use wecom_externalcontact::{Client, Error};

const BATCH: &str = "externalcontact/batch/get_by_user";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, standin) = match (std::env::var("WECOM_CORP_ID"), std::env::var("WECOM_SECRET")) {
        (Ok(corp_id), Ok(secret)) => (Client::builder().corp_id(corp_id).secret(secret).build()?, None),
        _ => {
            let world = WorldConfig {
                members: 12,
                customers: 120,
                unlicensed: 2,
                ..WorldConfig::default()
            };
            let standin = StandIn::start_with(StandInConfig {
                world: Some(world),
                ..Default::default()
            })
            .await?;
            eprintln!("WECOM_CORP_ID / WECOM_SECRET not set: syncing the embedded stand-in's made-up corp");
            (standin.client(), Some(standin))
        }
    };

    // Tag ids → names, once.
    let library = client.get_corp_tag_list(&GetCorpTagListRequest::new()).await?;
    let names: BTreeMap<String, String> = library
        .tag_group
        .into_iter()
        .flat_map(|g| g.tag)
        .map(|t| (t.id, t.name))
        .collect();

    let members = client.get_follow_user_list(&GetFollowUserListRequest::new()).await?;
    // batch/get_by_user takes at most 100 members a request; this sketch takes the first 100.
    let userids: Vec<String> = members.follow_user.into_iter().take(100).collect();
    let mut next = Some(BatchGetByUserRequest::new(userids).limit(30));
    let (mut pages, mut rows, mut failures, mut first_customer) = (0, 0, 0, None);
    let mut unlicensed = BTreeSet::new();
    println!("external_userid,userid,remark,tags");
    // Each round pages from `next`, the request that resumes after the last finished page, so a failure
    // loses nothing and fetches no page twice. (A real sync stores `next` with its rows.)
    while let Some(request) = next.take() {
        let mut stream = client.batch_get_by_user_pages(request.clone());
        let mut resume = Some(request);
        while let Some(page) = stream.next().await {
            let page = match page {
                Ok(page) => page,
                Err(e) if failures < 3 => {
                    failures += 1;
                    eprintln!("page {} failed ({e}); resuming from the last finished page", pages + 1);
                    break;
                }
                Err(e) => return Err(e.into()),
            };
            for item in &page.items {
                let f = &item.follow_info;
                let tags: Vec<&str> = f
                    .tag_id
                    .iter()
                    .filter_map(|id| names.get(id))
                    .map(String::as_str)
                    .collect();
                let id = &item.external_contact.external_userid;
                println!(
                    "{id},{},{},{}",
                    f.userid,
                    f.remark.as_deref().unwrap_or(""),
                    tags.join(";")
                );
                first_customer.get_or_insert_with(|| (f.userid.clone(), id.clone()));
                rows += 1;
            }
            if let Some(fail) = page.partial.get("fail_info") {
                let ids = fail["unlicensed_userid_list"].as_array().into_iter().flatten();
                unlicensed.extend(ids.filter_map(|v| v.as_str()).map(str::to_string));
            }
            pages += 1;
            resume = page.resume();
            if let (Some(standin), 2) = (&standin, pages) {
                // On the stand-in: the third page fails once (a fatal errcode: reads are retried on -1 already).
                standin.fail_next(BATCH, 60011, "no privilege to access/modify contact/party/agent");
            }
        }
        next = resume;
    }
    eprintln!("{rows} rows from {pages} pages; members without a 互通 licence (customers left out): {unlicensed:?}");

    // Find-or-create the tag "VIP", then mark the first customer with it (running twice creates one tag).
    if let Some((member, customer)) = first_customer {
        let library = client.get_corp_tag_list(&GetCorpTagListRequest::new()).await?;
        let found = library.tag_group.iter().flat_map(|g| &g.tag).find(|t| t.name == "VIP");
        let vip = match found {
            Some(tag) => tag.id.clone(),
            None => {
                let add = AddCorpTagRequest::new()
                    .group_name("会员")
                    .tag([NewCorpTag::new("VIP")]);
                let group = client
                    .add_corp_tag(&add)
                    .await?
                    .tag_group
                    .ok_or("add_corp_tag created no group")?;
                group.tag.first().ok_or("add_corp_tag created no tag")?.id.clone()
            }
        };
        client
            .mark_tag(&MarkTagRequest::new(member.as_str(), customer.as_str()).add_tag([vip.as_str()]))
            .await?;
        eprintln!("{customer} (of {member}) is tagged VIP ({vip})");

        // mark_tag with neither add_tag nor remove_tag breaks a rule of the docs: refused, nothing sent.
        match client.mark_tag(&MarkTagRequest::new(member, customer)).await {
            Err(Error::InvalidRequest { .. }) => eprintln!("an empty mark_tag is refused before sending"),
            other => return Err(format!("an empty mark_tag was not refused: {other:?}").into()),
        }
    }
    Ok(())
}
