//! A consistent, stateful corp for the stand-in to answer from: members, customers with their follow infos
//! and tags, the corp tag library, strategy tags and group chats, generated from a seed ([`WorldConfig`]).
//!
//! The parts, by concern: this file (the model and its truth accessors), `seed` (generating a world),
//! `customers` (the customer endpoints and `remark`), `tags` (the tag library, strategy tags and
//! `mark_tag`) and `groupchats` (`groupchat/list` and `groupchat/get`).

mod customers;
mod groupchats;
mod seed;
mod tags;

use serde_json::Value;

/// How the stand-in's world is generated: its sizes, its seed and its licence gaps. The same configuration
/// gives the same world, answer for answer.
///
/// ```
/// use wecom_externalcontact::standin::{World, WorldConfig};
/// let config = WorldConfig { seed: 7, members: 4, customers: 20, unlicensed: 1, ..WorldConfig::default() };
/// let world = World::generate(&config);
/// assert_eq!(world.customers().len(), 20);
/// assert_eq!(world.members().iter().filter(|m| !m.licensed).count(), 1);
/// assert_eq!(world, World::generate(&config), "deterministic");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorldConfig {
    /// The seed of everything chosen at random (tags, remarks, licence gaps, group chat members).
    pub seed: u64,
    /// Members with 客户联系 (`member001`, …).
    pub members: usize,
    /// Customers (`wmStandIn000000`, …), spread round-robin over the members; every fourth is also followed
    /// by the next member.
    pub customers: usize,
    /// Corp tag groups in the tag library.
    pub tag_groups: usize,
    /// Tags in each corp tag group.
    pub tags_per_group: usize,
    /// Strategy (规则组) tag groups, one strategy each.
    pub strategy_tag_groups: usize,
    /// Customer group chats, owned round-robin by the members.
    pub group_chats: usize,
    /// Members without a 互通 licence (chosen by the seed): `batch/get_by_user` lists them in
    /// `fail_info.unlicensed_userid_list` and leaves out their customers (701008 when no member asked has one).
    pub unlicensed: usize,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            seed: 1,
            members: 8,
            customers: 100,
            tag_groups: 3,
            tags_per_group: 4,
            strategy_tag_groups: 1,
            group_chats: 10,
            unlicensed: 0,
        }
    }
}

impl WorldConfig {
    /// The default world with `members` members and `customers` customers.
    pub fn sized(members: usize, customers: usize) -> WorldConfig {
        WorldConfig {
            members,
            customers,
            ..WorldConfig::default()
        }
    }
}

/// A member with 客户联系.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Member {
    /// The userid.
    pub userid: String,
    /// Whether the member has a 互通 licence (else `batch/get_by_user` reports it in `fail_info`).
    pub licensed: bool,
}

/// A customer and the members following it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Customer {
    /// The external_userid.
    pub external_userid: String,
    /// The name.
    pub name: String,
    /// 1 WeChat user, 2 WeCom user.
    pub kind: u8,
    /// 0 unknown, 1 male, 2 female.
    pub gender: u8,
    /// One per following member, in the order they added the customer.
    pub follows: Vec<Follow>,
}

/// One member's follow info of a customer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Follow {
    /// The following member.
    pub userid: String,
    /// The member's remark on the customer.
    pub remark: String,
    /// The member's description of the customer.
    pub description: String,
    /// The member's phone numbers for the customer.
    pub remark_mobiles: Vec<String>,
    /// When the member added the customer (unix seconds).
    pub createtime: i64,
    /// How the member added the customer (the `AddWay` code).
    pub add_way: u32,
    /// The corp and strategy tag ids the member put on the customer.
    pub tag_ids: Vec<String>,
}

/// A tag group (of the corp's library, or of a strategy) with its tags.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TagGroup {
    /// The group id.
    pub group_id: String,
    /// The group name.
    pub group_name: String,
    /// When it was created (unix seconds).
    pub create_time: i64,
    /// The order value (larger first).
    pub order: u32,
    /// The strategy it belongs to, for a strategy tag group.
    pub strategy_id: Option<i64>,
    /// Its tags.
    pub tags: Vec<Tag>,
}

/// One tag of a tag group.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tag {
    /// The tag id.
    pub id: String,
    /// The tag name.
    pub name: String,
    /// When it was created (unix seconds).
    pub create_time: i64,
    /// The order value (larger first).
    pub order: u32,
}

/// A customer group chat.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupChat {
    /// The chat_id.
    pub chat_id: String,
    /// The group name.
    pub name: String,
    /// The owner's userid.
    pub owner: String,
    /// When it was created (unix seconds).
    pub create_time: i64,
    /// The members: the owner first, then customers (external_userids) the owner follows.
    pub members: Vec<String>,
}

/// The stand-in's corp: members, customers with follow infos and tags, the tag library, strategy tags and
/// group chats. The endpoints of 客户联系 that read them answer from it, and the simple documented writes
/// (`add_corp_tag`, `edit_corp_tag`, `del_corp_tag`, `mark_tag`, `remark`) change it for the reads that
/// follow; [`StandIn::world`](super::StandIn::world) is a snapshot to compare answers with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct World {
    members: Vec<Member>,
    customers: Vec<Customer>,
    tag_groups: Vec<TagGroup>,
    strategy_tag_groups: Vec<TagGroup>,
    group_chats: Vec<GroupChat>,
    /// Indexes into `customers` and their `follows`, by following member (in customer order).
    by_member: std::collections::BTreeMap<String, Vec<(usize, usize)>>,
    /// Indexes into `customers` by external_userid.
    by_customer: std::collections::HashMap<String, usize>,
    /// The number in the next id a write makes.
    next_id: u64,
}

impl World {
    /// The members with 客户联系, in order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The customers, in order.
    pub fn customers(&self) -> &[Customer] {
        &self.customers
    }

    /// The customer `external_userid`.
    pub fn customer(&self, external_userid: &str) -> Option<&Customer> {
        self.by_customer.get(external_userid).map(|&i| &self.customers[i])
    }

    /// Every (customer, follow info) pair, customers in order.
    pub fn follows(&self) -> impl Iterator<Item = (&Customer, &Follow)> {
        self.customers
            .iter()
            .flat_map(|c| c.follows.iter().map(move |f| (c, f)))
    }

    /// The corp tag library.
    pub fn tag_groups(&self) -> &[TagGroup] {
        &self.tag_groups
    }

    /// The strategy tag groups.
    pub fn strategy_tag_groups(&self) -> &[TagGroup] {
        &self.strategy_tag_groups
    }

    /// The corp or strategy tag `id` and its group.
    pub fn tag(&self, id: &str) -> Option<(&TagGroup, &Tag)> {
        self.tag_groups
            .iter()
            .chain(&self.strategy_tag_groups)
            .find_map(|g| g.tags.iter().find(|t| t.id == id).map(|t| (g, t)))
    }

    /// The customer group chats, in order.
    pub fn group_chats(&self) -> &[GroupChat] {
        &self.group_chats
    }

    /// Whether `userid` is a member with a 互通 licence.
    pub fn is_licensed(&self, userid: &str) -> bool {
        self.members.iter().any(|m| m.userid == userid && m.licensed)
    }

    /// `userid`'s follow info of `external_userid`.
    fn follow_mut(&mut self, userid: &str, external_userid: &str) -> Option<&mut Follow> {
        let &i = self.by_customer.get(external_userid)?;
        self.customers[i].follows.iter_mut().find(|f| f.userid == userid)
    }

    /// A new id starting with `prefix`.
    fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}StandInNew{:06}", self.next_id)
    }

    /// The answer to a call of `path` from the world, or `None` for an endpoint it does not model.
    pub(super) fn answer(lock: &std::sync::RwLock<World>, path: &str, request: &Value) -> Option<Reply> {
        let read = || lock.read().unwrap_or_else(|p| p.into_inner());
        let write = || lock.write().unwrap_or_else(|p| p.into_inner());
        Some(match path {
            "externalcontact/get_follow_user_list" => read().follow_user_list(),
            "externalcontact/list" => read().list(request),
            "externalcontact/get" => read().get(request),
            "externalcontact/batch/get_by_user" => read().batch_get_by_user(request),
            "externalcontact/remark" => write().remark(request),
            "externalcontact/get_corp_tag_list" => read().get_corp_tag_list(request),
            "externalcontact/get_strategy_tag_list" => read().get_strategy_tag_list(request),
            "externalcontact/add_corp_tag" => write().add_corp_tag(request),
            "externalcontact/edit_corp_tag" => write().edit_corp_tag(request),
            "externalcontact/del_corp_tag" => write().del_corp_tag(request),
            "externalcontact/mark_tag" => write().mark_tag(request),
            "externalcontact/groupchat/list" => read().groupchat_list(request),
            "externalcontact/groupchat/get" => read().groupchat_get(request),
            _ => return None,
        })
    }
}

/// An answer body (without `errcode`), or WeCom's refusal (errcode, errmsg).
pub(super) type Reply = Result<Value, (i64, String)>;

/// A refusal.
fn refuse<T>(errcode: i64, errmsg: impl Into<String>) -> Result<T, (i64, String)> {
    Err((errcode, errmsg.into()))
}

/// The strings of the list `request[key]` (none when it is absent).
fn strings<'a>(request: &'a Value, key: &str) -> Vec<&'a str> {
    request[key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The string `request[key]`, or `""`.
fn string<'a>(request: &'a Value, key: &str) -> &'a str {
    request[key].as_str().unwrap_or("")
}

/// The page `request` asks for of `all` (its `cursor` an offset the stand-in gave, at most `limit` items)
/// and the next cursor (empty on the last page): pages never overlap and the cursor given is honoured.
fn page<T: Clone>(all: &[T], request: &Value, limit: usize) -> Result<(Vec<T>, String), (i64, String)> {
    let cursor = string(request, "cursor");
    let offset: usize = if cursor.is_empty() {
        0
    } else {
        match cursor.strip_prefix("standin-offset-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => return refuse(40058, "invalid parameter: cursor"),
        }
    };
    let items = all.iter().skip(offset).take(limit).cloned().collect();
    let end = offset.saturating_add(limit);
    let next = if end < all.len() {
        format!("standin-offset-{end}")
    } else {
        String::new()
    };
    Ok((items, next))
}
