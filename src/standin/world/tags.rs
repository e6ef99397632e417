//! The tag library answered from the world and changed by its writes: `get_corp_tag_list`,
//! `get_strategy_tag_list`, `add_corp_tag`, `edit_corp_tag`, `del_corp_tag` and `mark_tag`.

use super::{refuse, string, strings, Reply, TagGroup, World};
use serde_json::{json, Value};

/// 40068 不合法的标签/标签组ID.
fn invalid_id<T>(id: &str) -> Result<T, (i64, String)> {
    refuse(40068, format!("invalid tagid: {id}"))
}

/// 40071: the name is taken.
fn name_taken<T>(name: &str) -> Result<T, (i64, String)> {
    refuse(40071, format!("tag name exists: {name}"))
}

/// A tag group as `get_corp_tag_list` (and, with `strategy_id`, `get_strategy_tag_list`) lists it, with
/// the tags `keep` keeps.
fn group_json(g: &TagGroup, keep: impl Fn(&str) -> bool) -> Value {
    let tags: Vec<Value> = g
        .tags
        .iter()
        .filter(|t| keep(&t.id))
        .map(|t| json!({ "id": t.id, "name": t.name, "create_time": t.create_time, "order": t.order }))
        .collect();
    let mut v = json!({
        "group_id": g.group_id,
        "group_name": g.group_name,
        "create_time": g.create_time,
        "order": g.order,
        "tag": tags,
    });
    if let Some(s) = g.strategy_id {
        v["strategy_id"] = json!(s);
    }
    v
}

/// The groups of `groups` the request's `group_id` (all their tags) or else `tag_id` (only those tags)
/// names; all of them when it names none.
fn filtered(groups: &[TagGroup], request: &Value) -> Vec<Value> {
    let (group_ids, tag_ids) = (strings(request, "group_id"), strings(request, "tag_id"));
    groups
        .iter()
        .filter_map(|g| {
            if !group_ids.is_empty() {
                group_ids
                    .contains(&g.group_id.as_str())
                    .then(|| group_json(g, |_| true))
            } else if !tag_ids.is_empty() {
                let v = group_json(g, |id| tag_ids.contains(&id));
                v["tag"].as_array().is_some_and(|t| !t.is_empty()).then_some(v)
            } else {
                Some(group_json(g, |_| true))
            }
        })
        .collect()
}

/// Sets the name and order of the item `id` of `items` (id, name, order), refusing a name another of them
/// has; `None` when `id` is not one of them.
fn edit(
    mut items: Vec<(&str, &mut String, &mut u32)>,
    id: &str,
    name: Option<&str>,
    order: Option<u32>,
) -> Option<Reply> {
    let i = items.iter().position(|(item, _, _)| *item == id)?;
    if let Some(name) = name {
        if items.iter().any(|(item, n, _)| *item != id && n.as_str() == name) {
            return Some(name_taken(name));
        }
        *items[i].1 = name.to_string();
    }
    if let Some(o) = order {
        *items[i].2 = o;
    }
    Some(Ok(json!({})))
}

impl World {
    pub(super) fn get_corp_tag_list(&self, request: &Value) -> Reply {
        Ok(json!({ "tag_group": filtered(&self.tag_groups, request) }))
    }

    pub(super) fn get_strategy_tag_list(&self, request: &Value) -> Reply {
        let strategy = request["strategy_id"].as_i64();
        let groups: Vec<TagGroup> = self
            .strategy_tag_groups
            .iter()
            .filter(|g| strategy.is_none() || g.strategy_id == strategy)
            .cloned()
            .collect();
        Ok(json!({ "tag_group": filtered(&groups, request) }))
    }

    /// `add_corp_tag`: tags into the group `group_id`, or into the group named `group_name` (created when
    /// there is none); answers the group with the tags it created.
    pub(super) fn add_corp_tag(&mut self, request: &Value) -> Reply {
        let group_id = string(request, "group_id");
        let group_name = string(request, "group_name");
        let existing = if group_id.is_empty() {
            self.tag_groups.iter().position(|g| g.group_name == group_name)
        } else {
            match self.tag_groups.iter().position(|g| g.group_id == group_id) {
                Some(i) => Some(i),
                None => return invalid_id(group_id),
            }
        };
        // The names to create, checked before anything changes (the same name twice makes one tag).
        let mut names: Vec<(&str, u32)> = Vec::new();
        for t in request["tag"].as_array().into_iter().flatten() {
            let name = string(t, "name");
            if name.is_empty() || name.chars().count() > 30 {
                return refuse(40072, "invalid tag name length");
            }
            if existing.is_some_and(|i| self.tag_groups[i].tags.iter().any(|x| x.name == name)) {
                return name_taken(name);
            }
            if !names.iter().any(|(n, _)| *n == name) {
                names.push((name, t["order"].as_u64().unwrap_or(0) as u32));
            }
        }
        let now = crate::clock::unix_millis() as i64 / 1000;
        let gi = match existing {
            Some(i) => i,
            None => {
                let group_id = self.new_id("et");
                self.tag_groups.push(TagGroup {
                    group_id,
                    group_name: group_name.to_string(),
                    create_time: now,
                    order: request["order"].as_u64().unwrap_or(0) as u32,
                    strategy_id: None,
                    tags: Vec::new(),
                });
                self.tag_groups.len() - 1
            }
        };
        let mut created = Vec::new();
        for (name, order) in names {
            let id = self.new_id("et");
            self.tag_groups[gi].tags.push(super::Tag {
                id: id.clone(),
                name: name.to_string(),
                create_time: now,
                order,
            });
            created.push(id);
        }
        let g = &self.tag_groups[gi];
        Ok(json!({ "tag_group": group_json(g, |id| created.iter().any(|c| c == id)) }))
    }

    /// `edit_corp_tag`: renames or reorders a tag or a group (a name must not clash in its scope).
    pub(super) fn edit_corp_tag(&mut self, request: &Value) -> Reply {
        let id = string(request, "id");
        let name = request["name"].as_str();
        let order = request["order"].as_u64().map(|o| o as u32);
        let groups = self
            .tag_groups
            .iter_mut()
            .map(|g| (g.group_id.as_str(), &mut g.group_name, &mut g.order));
        if let Some(reply) = edit(groups.collect(), id, name, order) {
            return reply;
        }
        for g in &mut self.tag_groups {
            let tags = g.tags.iter_mut().map(|t| (t.id.as_str(), &mut t.name, &mut t.order));
            if let Some(reply) = edit(tags.collect(), id, name, order) {
                return reply;
            }
        }
        invalid_id(id)
    }

    /// `del_corp_tag`: deletes the tags and groups named (a group left empty goes too) and takes the tags off
    /// every customer.
    pub(super) fn del_corp_tag(&mut self, request: &Value) -> Reply {
        let (tag_ids, group_ids) = (strings(request, "tag_id"), strings(request, "group_id"));
        for id in &tag_ids {
            if !self.tag_groups.iter().any(|g| g.tags.iter().any(|t| t.id == *id)) {
                return invalid_id(id);
            }
        }
        for id in &group_ids {
            if !self.tag_groups.iter().any(|g| g.group_id == *id) {
                return invalid_id(id);
            }
        }
        let mut gone: Vec<String> = tag_ids.iter().map(|s| s.to_string()).collect();
        for g in &mut self.tag_groups {
            if group_ids.contains(&g.group_id.as_str()) {
                gone.extend(g.tags.drain(..).map(|t| t.id));
            } else {
                g.tags.retain(|t| !tag_ids.contains(&t.id.as_str()));
            }
        }
        self.tag_groups.retain(|g| !g.tags.is_empty());
        for c in &mut self.customers {
            for f in &mut c.follows {
                f.tag_ids.retain(|t| !gone.contains(t));
            }
        }
        Ok(json!({}))
    }

    /// `mark_tag`: adds and removes corp or strategy tags on one member's follow info of one customer.
    pub(super) fn mark_tag(&mut self, request: &Value) -> Reply {
        let (add, remove) = (strings(request, "add_tag"), strings(request, "remove_tag"));
        if let Some(id) = add.iter().chain(&remove).find(|id| self.tag(id).is_none()) {
            return invalid_id(id);
        }
        let Some(f) = self.follow_mut(string(request, "userid"), string(request, "external_userid")) else {
            return refuse(84061, "not external contact");
        };
        f.tag_ids.retain(|t| !remove.contains(&t.as_str()));
        for id in add {
            if !f.tag_ids.iter().any(|t| t == id) {
                f.tag_ids.push(id.to_string());
            }
        }
        Ok(json!({}))
    }
}
