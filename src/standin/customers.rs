//! A data set of members and customers the stand-in answers the customer endpoints from, instead of the
//! spec's examples.

use super::routes::wecom_error;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Members and their customers for the stand-in to answer `get_follow_user_list`, `batch/get_by_user`
/// (really paged: `limit` default 50, at most 100; at most 100 userids), `list` and `get` from, instead of
/// the official examples. Build one with [`CustomerData::new`] or [`CustomerData::generated`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CustomerData {
    members: Vec<String>,
    items: Vec<Value>,
    /// Indexes into `items` by following member, and by external_userid.
    by_member: BTreeMap<String, Vec<usize>>,
    by_customer: BTreeMap<String, Vec<usize>>,
}

impl CustomerData {
    /// A data set from the members with 客户联系 (in order) and one item per (customer, following member),
    /// as `batch/get_by_user` returns them: `{"external_contact": {"external_userid": …, …},
    /// "follow_info": {"userid": …, …}}`.
    pub fn new(members: Vec<String>, items: Vec<Value>) -> CustomerData {
        let mut by_member: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut by_customer: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            by_member.entry(Self::follower(item).to_string()).or_default().push(i);
            let id = item["external_contact"]["external_userid"].as_str().unwrap_or("");
            by_customer.entry(id.to_string()).or_default().push(i);
        }
        CustomerData {
            members,
            items,
            by_member,
            by_customer,
        }
    }

    /// The members with 客户联系, in order.
    pub fn members(&self) -> &[String] {
        &self.members
    }

    /// One item per (customer, following member).
    pub fn items(&self) -> &[Value] {
        &self.items
    }

    /// `customers` made-up customers spread round-robin over `members` members (`member001`, …); every
    /// fourth customer is also followed by the next member, so a customer may appear under two members.
    pub fn generated(members: usize, customers: usize) -> CustomerData {
        let members: Vec<String> = (1..=members.max(1)).map(|i| format!("member{i:03}")).collect();
        let m = members.len();
        let mut items = Vec::new();
        for i in 0..customers {
            let contact = json!({
                "external_userid": format!("wmStandIn{i:06}"),
                "name": format!("客户{i}"),
                "type": 1 + i % 2,
                "gender": i % 3,
            });
            let mut followers = vec![&members[i % m]];
            if i % 4 == 0 && m > 1 {
                followers.push(&members[(i + 1) % m]);
            }
            for (k, userid) in followers.into_iter().enumerate() {
                items.push(json!({
                    "external_contact": contact,
                    "follow_info": {
                        "userid": userid,
                        "remark": format!("备注{i}"),
                        "createtime": 1_700_000_000 + i * 60 + k,
                        "tag_id": [],
                        "oper_userid": userid,
                        "add_way": 1,
                    }
                }));
            }
        }
        CustomerData::new(members, items)
    }

    /// How many distinct customers (by `external_userid`) the data holds.
    pub fn customer_count(&self) -> usize {
        self.by_customer.len()
    }

    fn follower(item: &Value) -> &str {
        item["follow_info"]["userid"].as_str().unwrap_or("")
    }

    pub(super) fn answer(&self, path: &str, request: &Value) -> Option<Response> {
        let ok = |mut v: Value| {
            v["errcode"] = json!(0);
            v["errmsg"] = json!("ok");
            Some((StatusCode::OK, axum::Json(v)).into_response())
        };
        match path {
            "externalcontact/get_follow_user_list" => ok(json!({ "follow_user": self.members })),
            "externalcontact/list" => {
                let userid = request["userid"].as_str().unwrap_or("");
                let ids: Vec<&Value> = self
                    .by_member
                    .get(userid)
                    .into_iter()
                    .flatten()
                    .map(|&i| &self.items[i]["external_contact"]["external_userid"])
                    .collect();
                ok(json!({ "external_userid": ids }))
            }
            "externalcontact/get" => {
                let id = request["external_userid"].as_str().unwrap_or("");
                let mine: Vec<&Value> = self.by_customer.get(id)?.iter().map(|&i| &self.items[i]).collect();
                let first = mine.first()?;
                let follow: Vec<&Value> = mine.iter().map(|i| &i["follow_info"]).collect();
                ok(json!({ "external_contact": first["external_contact"], "follow_user": follow, "next_cursor": "" }))
            }
            "externalcontact/batch/get_by_user" => {
                let users: Vec<&str> = request["userid_list"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if users.is_empty() || users.len() > 100 {
                    return Some(wecom_error(
                        40058,
                        "invalid parameter: userid_list takes 1 to 100 userids",
                    ));
                }
                let limit = request["limit"].as_u64().unwrap_or(50).clamp(1, 100) as usize;
                let cursor = request["cursor"].as_str().unwrap_or("");
                let offset: usize = if cursor.is_empty() {
                    0
                } else {
                    match cursor.strip_prefix("standin-offset-").and_then(|n| n.parse().ok()) {
                        Some(n) => n,
                        None => return Some(wecom_error(40058, "invalid parameter: cursor")),
                    }
                };
                let all: Vec<&Value> = users
                    .iter()
                    .flat_map(|u| self.by_member.get(*u).into_iter().flatten())
                    .map(|&i| &self.items[i])
                    .collect();
                let page: Vec<&Value> = all.iter().skip(offset).take(limit).copied().collect();
                let next = if offset + limit < all.len() {
                    format!("standin-offset-{}", offset + limit)
                } else {
                    String::new()
                };
                ok(json!({ "external_contact_list": page, "next_cursor": next }))
            }
            _ => None,
        }
    }
}
