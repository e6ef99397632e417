//! The customer endpoints answered from the world: `get_follow_user_list`, `list`, `get`,
//! `batch/get_by_user` (really paged, with the licence gaps in `fail_info`) and `remark` (a write).

use super::{page, refuse, string, strings, Customer, Follow, Reply, World};
use serde_json::{json, Value};

impl World {
    pub(super) fn follow_user_list(&self) -> Reply {
        let ids: Vec<&str> = self.members.iter().map(|m| m.userid.as_str()).collect();
        Ok(json!({ "follow_user": ids }))
    }

    pub(super) fn list(&self, request: &Value) -> Reply {
        let userid = string(request, "userid");
        if !self.members.iter().any(|m| m.userid == userid) {
            return refuse(40003, "invalid userid");
        }
        let ids: Vec<&str> = self
            .by_member
            .get(userid)
            .into_iter()
            .flatten()
            .map(|&(c, _)| self.customers[c].external_userid.as_str())
            .collect();
        Ok(json!({ "external_userid": ids }))
    }

    pub(super) fn get(&self, request: &Value) -> Reply {
        let Some(c) = self.customer(string(request, "external_userid")) else {
            return refuse(40096, "invalid external userid");
        };
        let follow_user: Vec<Value> = c
            .follows
            .iter()
            .map(|f| {
                let tags: Vec<Value> = f
                    .tag_ids
                    .iter()
                    .filter_map(|id| self.tag(id))
                    .map(|(g, t)| {
                        let kind = if g.strategy_id.is_some() { 3 } else { 1 };
                        json!({ "group_name": g.group_name, "tag_name": t.name, "tag_id": t.id, "type": kind })
                    })
                    .collect();
                let mut v = follow_json(f);
                v["tags"] = Value::Array(tags);
                v
            })
            .collect();
        Ok(json!({ "external_contact": contact_json(c), "follow_user": follow_user, "next_cursor": "" }))
    }

    pub(super) fn batch_get_by_user(&self, request: &Value) -> Reply {
        let users = strings(request, "userid_list");
        if users.is_empty() || users.len() > 100 {
            return refuse(40058, "invalid parameter: userid_list takes 1 to 100 userids");
        }
        let unlicensed: Vec<&str> = users.iter().copied().filter(|u| !self.is_licensed(u)).collect();
        if unlicensed.len() == users.len() {
            return refuse(701008, "none of the members has a valid 互通 licence");
        }
        let limit = request["limit"].as_u64().unwrap_or(50).clamp(1, 100) as usize;
        let all: Vec<(usize, usize)> = users
            .iter()
            .filter(|u| !unlicensed.contains(u))
            .flat_map(|u| self.by_member.get(*u).into_iter().flatten().copied())
            .collect();
        let (items, next) = page(&all, request, limit)?;
        let list: Vec<Value> = items
            .iter()
            .map(|&(c, f)| {
                let c = &self.customers[c];
                let mut follow = follow_json(&c.follows[f]);
                follow["tag_id"] = json!(c.follows[f].tag_ids);
                json!({ "external_contact": contact_json(c), "follow_info": follow })
            })
            .collect();
        let mut answer = json!({ "external_contact_list": list, "next_cursor": next });
        if !unlicensed.is_empty() {
            answer["fail_info"] = json!({ "unlicensed_userid_list": unlicensed });
        }
        Ok(answer)
    }

    /// `remark`: sets the fields the request gives (`remark_mobiles: [""]` clears the phone numbers).
    pub(super) fn remark(&mut self, request: &Value) -> Reply {
        let (userid, customer) = (string(request, "userid"), string(request, "external_userid"));
        let Some(f) = self.follow_mut(userid, customer) else {
            return refuse(84061, "not external contact");
        };
        if let Some(r) = request["remark"].as_str() {
            f.remark = r.to_string();
        }
        if let Some(d) = request["description"].as_str() {
            f.description = d.to_string();
        }
        if request["remark_mobiles"].is_array() {
            f.remark_mobiles = strings(request, "remark_mobiles")
                .into_iter()
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect();
        }
        Ok(json!({}))
    }
}

/// The `external_contact` of a customer, in the spec's field names.
fn contact_json(c: &Customer) -> Value {
    json!({ "external_userid": c.external_userid, "name": c.name, "type": c.kind, "gender": c.gender })
}

/// The fields a follow info has in both `get` (`follow_user`) and `batch/get_by_user` (`follow_info`).
fn follow_json(f: &Follow) -> Value {
    let mut v = json!({
        "userid": f.userid,
        "remark": f.remark,
        "createtime": f.createtime,
        "oper_userid": f.userid,
        "add_way": f.add_way,
    });
    if !f.description.is_empty() {
        v["description"] = json!(f.description);
    }
    if !f.remark_mobiles.is_empty() {
        v["remark_mobiles"] = json!(f.remark_mobiles);
    }
    v
}
