//! Generating a world from a [`WorldConfig`]: the same configuration, the same world.

use super::{Customer, Follow, GroupChat, Member, Tag, TagGroup, World, WorldConfig};
use std::collections::{BTreeMap, HashMap};

/// SplitMix64: a small, fast generator whose output depends only on the seed (no crate's version can change it).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Tag group names and their tags' names (a group beyond these, or a tag beyond four, gets a number).
const LIBRARY: [(&str, [&str; 4]); 6] = [
    ("客户等级", ["普通", "银卡", "金卡", "钻石"]),
    ("来源渠道", ["线上", "线下", "转介绍", "展会"]),
    ("兴趣", ["理财", "保险", "基金", "贷款"]),
    ("地区", ["华北", "华东", "华南", "西部"]),
    ("行业", ["制造", "零售", "教育", "医疗"]),
    ("跟进阶段", ["初次接触", "有意向", "已成交", "已流失"]),
];
const SURNAMES: [&str; 8] = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄"];
const TITLES: [&str; 6] = ["总", "经理", "老师", "先生", "女士", "主任"];
/// Codes of the `AddWay` enum a generated follow uses.
const ADD_WAYS: [u32; 6] = [1, 2, 3, 4, 16, 202];

impl World {
    /// The world `config` describes.
    pub fn generate(config: &WorldConfig) -> World {
        let mut rng = Rng(config.seed);
        let n = config.members.max(1);
        let mut members: Vec<Member> = (1..=n)
            .map(|i| Member {
                userid: format!("member{i:03}"),
                licensed: true,
            })
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.below(i + 1));
        }
        for &i in order.iter().take(config.unlicensed) {
            members[i].licensed = false;
        }

        let tag_groups = library(config.tag_groups, config.tags_per_group, "et", None);
        let strategy_tag_groups = library(config.strategy_tag_groups, config.tags_per_group, "st", Some(1));
        let corp_tags: Vec<&str> = tag_groups.iter().flat_map(|g| &g.tags).map(|t| t.id.as_str()).collect();

        let mut customers = Vec::with_capacity(config.customers);
        for i in 0..config.customers {
            let mut followers = vec![i % n];
            if i % 4 == 0 && n > 1 {
                followers.push((i + 1) % n);
            }
            let follows = followers
                .into_iter()
                .enumerate()
                .map(|(k, m)| {
                    let mut tag_ids: Vec<String> = Vec::new();
                    for _ in 0..rng.below(4) {
                        let id = corp_tags.get(rng.below(corp_tags.len())).map(|s| s.to_string());
                        if let Some(id) = id.filter(|id| !tag_ids.contains(id)) {
                            tag_ids.push(id);
                        }
                    }
                    Follow {
                        userid: members[m].userid.clone(),
                        remark: format!("{}{}", SURNAMES[rng.below(8)], TITLES[rng.below(6)]),
                        description: String::new(),
                        remark_mobiles: Vec::new(),
                        createtime: 1_700_000_000 + (i * 60 + k) as i64,
                        add_way: ADD_WAYS[rng.below(ADD_WAYS.len())],
                        tag_ids,
                    }
                })
                .collect();
            customers.push(Customer {
                external_userid: format!("wmStandIn{i:06}"),
                name: format!("客户{i}"),
                kind: 1 + (i % 2) as u8,
                gender: (i % 3) as u8,
                follows,
            });
        }

        let mut world = World {
            members,
            customers,
            tag_groups,
            strategy_tag_groups,
            group_chats: Vec::new(),
            by_member: BTreeMap::new(),
            by_customer: HashMap::new(),
            next_id: 0,
        };
        world.index();
        world.group_chats = (0..config.group_chats)
            .map(|c| {
                let owner = world.members[c % n].userid.clone();
                let mine = world.by_member.get(&owner).map(Vec::as_slice).unwrap_or_default();
                let mut chat_members = vec![owner.clone()];
                for _ in 0..rng.below(6) {
                    if let Some(&(ci, _)) = mine.get(rng.below(mine.len())) {
                        let id = &world.customers[ci].external_userid;
                        if !chat_members.contains(id) {
                            chat_members.push(id.clone());
                        }
                    }
                }
                GroupChat {
                    chat_id: format!("wrStandIn{c:06}"),
                    name: format!("客户群{c}"),
                    owner,
                    create_time: 1_690_000_000 + c as i64 * 3600,
                    members: chat_members,
                }
            })
            .collect();
        world
    }

    /// Rebuilds the indexes by member and by customer.
    fn index(&mut self) {
        self.by_member.clear();
        self.by_customer.clear();
        for (ci, c) in self.customers.iter().enumerate() {
            self.by_customer.insert(c.external_userid.clone(), ci);
            for (fi, f) in c.follows.iter().enumerate() {
                self.by_member.entry(f.userid.clone()).or_default().push((ci, fi));
            }
        }
    }
}

/// `groups` tag groups of `tags` tags each, ids starting with `prefix`, for strategies from `strategy` on.
fn library(groups: usize, tags: usize, prefix: &str, strategy: Option<i64>) -> Vec<TagGroup> {
    (0..groups)
        .map(|g| {
            let (base, names) = LIBRARY[g % LIBRARY.len()];
            let numbered = |name: &str, n: usize, first: usize| {
                if n < first {
                    name.to_string()
                } else {
                    format!("{name}{n}")
                }
            };
            let create_time = 1_600_000_000 + g as i64 * 3600;
            TagGroup {
                group_id: format!("{prefix}StandInGroup{g:03}"),
                group_name: numbered(base, g, LIBRARY.len()),
                create_time,
                order: g as u32 + 1,
                strategy_id: strategy.map(|s| s + g as i64),
                tags: (0..tags)
                    .map(|t| Tag {
                        id: format!("{prefix}StandInTag{g:03}{t:03}"),
                        name: numbered(names[t % names.len()], t, names.len()),
                        create_time: create_time + t as i64,
                        order: t as u32 + 1,
                    })
                    .collect(),
            }
        })
        .collect()
}
