//! The customer group chats answered from the world: `groupchat/list` (cursor-paged, filtered by owner)
//! and `groupchat/get`.

use super::{page, refuse, string, strings, GroupChat, Reply, World};
use serde_json::{json, Value};

impl World {
    pub(super) fn groupchat_list(&self, request: &Value) -> Reply {
        let limit = request["limit"].as_u64().unwrap_or(0);
        if !(1..=1000).contains(&limit) {
            return refuse(40058, "invalid parameter: limit takes 1 to 1000");
        }
        let owners = strings(&request["owner_filter"], "userid_list");
        if owners.len() > 100 {
            return refuse(
                40058,
                "invalid parameter: owner_filter.userid_list takes at most 100 userids",
            );
        }
        if owners.is_empty() && self.members.len() > 1000 {
            return refuse(81017, "too many owners in the app's visible range: pass owner_filter");
        }
        // Every chat's owner follows it normally (status 0): the filters of resigned owners match none.
        let status_filter = request["status_filter"].as_u64().unwrap_or(0);
        let chats: Vec<&GroupChat> = self
            .group_chats
            .iter()
            .filter(|c| status_filter == 0 && (owners.is_empty() || owners.contains(&c.owner.as_str())))
            .collect();
        let (items, next) = page(&chats, request, limit as usize)?;
        let list: Vec<Value> = items
            .iter()
            .map(|c| json!({ "chat_id": c.chat_id, "status": 0 }))
            .collect();
        Ok(json!({ "group_chat_list": list, "next_cursor": next }))
    }

    pub(super) fn groupchat_get(&self, request: &Value) -> Reply {
        let chat_id = string(request, "chat_id");
        let Some(c) = self.group_chats.iter().find(|c| c.chat_id == chat_id) else {
            return refuse(40050, "invalid chatid");
        };
        let need_name = request["need_name"].as_u64() == Some(1);
        let member_list: Vec<Value> = c
            .members
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let customer = self.customer(id);
                let mut m = json!({
                    "userid": id,
                    "type": if customer.is_some() { 2 } else { 1 },
                    "join_time": c.create_time + i as i64,
                    "join_scene": 1 + i % 3,
                });
                if i > 0 {
                    m["invitor"] = json!({ "userid": c.owner });
                }
                if need_name {
                    m["name"] = json!(customer.map_or(id.as_str(), |c| c.name.as_str()));
                }
                m
            })
            .collect();
        Ok(json!({ "group_chat": {
            "chat_id": c.chat_id,
            "name": c.name,
            "owner": c.owner,
            "create_time": c.create_time,
            "notice": "",
            "member_list": member_list,
            "admin_list": [],
            "member_version": format!("{:032x}", c.members.len() as u128 * 0x9E37_79B9 + c.create_time as u128),
        }}))
    }
}
