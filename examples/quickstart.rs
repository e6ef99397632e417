//! Quickstart: list the members with 客户联系, the corp's tags, one member's customers and a customer's details.
//!
//! With `WECOM_CORP_ID` and `WECOM_SECRET` (the 客户联系 secret) set, it calls WeCom. Without them it starts the
//! embedded stand-in (a loopback server playing one seeded corp: `standin::WorldConfig`) and says so.
//!
//! ```text
//! cargo run --example quickstart
//! ```
use wecom_externalcontact::models::{GetCorpTagListRequest, GetFollowUserListRequest, GetRequest, ListRequest};
use wecom_externalcontact::standin::{StandIn, StandInConfig, WorldConfig};
use wecom_externalcontact::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _standin) = match (std::env::var("WECOM_CORP_ID"), std::env::var("WECOM_SECRET")) {
        (Ok(corp_id), Ok(secret)) => {
            println!("Calling WeCom as corp {corp_id}.");
            (Client::builder().corp_id(corp_id).secret(secret).build()?, None)
        }
        _ => {
            let world = Some(WorldConfig::sized(3, 12));
            let standin = StandIn::start_with(StandInConfig {
                world,
                ..Default::default()
            })
            .await?;
            println!(
                "WECOM_CORP_ID / WECOM_SECRET not set: using the embedded stand-in at {} (a made-up corp).",
                standin.base_url()
            );
            (standin.client(), Some(standin))
        }
    };

    let members = client.get_follow_user_list(&GetFollowUserListRequest::new()).await?;
    let members = members.follow_user;
    println!("\nMembers with 客户联系 ({}): {}", members.len(), members.join(", "));

    let tags = client.get_corp_tag_list(&GetCorpTagListRequest::new()).await?;
    println!("\nCorp tag groups:");
    for group in &tags.tag_group {
        let names: Vec<&str> = group.tag.iter().map(|t| t.name.as_str()).collect();
        let created = group.create_time.map(|t| format!(" (created {t})")).unwrap_or_default();
        println!(
            "  {} [{}]{created}: {}",
            group.group_name,
            group.group_id,
            names.join(", ")
        );
    }

    let Some(member) = members.first() else {
        println!("\nNo member has 客户联系 enabled; nothing more to show.");
        return Ok(());
    };
    let customers = client.list(&ListRequest::new(member.clone())).await?;
    let customers = customers.external_userid;
    println!(
        "\nCustomers of {member} ({}): {}",
        customers.len(),
        customers.join(", ")
    );

    if let Some(id) = customers.first() {
        let detail = client.get(&GetRequest::new(id.clone())).await?;
        let c = &detail.external_contact;
        println!(
            "\nCustomer {}: {} ({:?}, {:?})",
            c.external_userid, c.name, c.r#type, c.gender
        );
        for f in &detail.follow_user {
            let tags: Vec<String> = f.tags.iter().filter_map(|t| t.tag_name.clone()).collect();
            // `UnixTime` displays Beijing time (UTC+8), e.g. 2018-05-08 19:43:32 +08:00.
            let since = f
                .createtime
                .map_or_else(|| "an unknown time".to_owned(), |t| t.to_string());
            println!(
                "  followed by {} since {} via {:?}; remark {:?}; tags [{}]",
                f.userid,
                since,
                f.add_way,
                f.remark,
                tags.join(", ")
            );
        }
    }
    Ok(())
}
