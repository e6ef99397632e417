//! The one place that decides Rust names (with heck). Everything else asks here.

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in", "let",
    "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static", "struct", "trait", "true", "type",
    "unsafe", "use", "where", "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];
/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// A Rust identifier: its text and whether it must be written raw (`r#type`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RustIdent {
    /// The identifier without `r#`.
    pub name: String,
    /// Needs `r#`.
    pub raw: bool,
}

impl RustIdent {
    /// Turns the name into a `proc_macro2::Ident`.
    pub fn ident(&self) -> proc_macro2::Ident {
        if self.raw {
            proc_macro2::Ident::new_raw(&self.name, proc_macro2::Span::call_site())
        } else {
            proc_macro2::Ident::new(&self.name, proc_macro2::Span::call_site())
        }
    }
}

fn fix_start(s: String, prefix: &str) -> String {
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("{prefix}{s}")
    } else {
        s
    }
}

/// A snake_case value identifier (fields, methods) from any wire name.
pub(crate) fn snake(wire: &str) -> RustIdent {
    let cleaned: String = wire
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let s = fix_start(cleaned.to_snake_case(), "n_");
    if NOT_RAW.contains(&s.as_str()) {
        RustIdent {
            name: format!("{s}_"),
            raw: false,
        }
    } else {
        let raw = KEYWORDS.contains(&s.as_str());
        RustIdent { name: s, raw }
    }
}

/// An UpperCamelCase type or variant identifier.
pub(crate) fn camel(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let c = fix_start(cleaned.to_upper_camel_case(), "V");
    if c == "Self" {
        "Self_".into()
    } else {
        c
    }
}

/// The client method name of an endpoint path: a leading `externalcontact/` is dropped, `/` becomes `_`.
pub(crate) fn method_name(path: &str) -> String {
    let p = path.strip_prefix("externalcontact/").unwrap_or(path);
    p.replace('/', "_").to_snake_case()
}

/// Request and response type names of a method.
pub(crate) fn request_type(method: &str) -> String {
    format!("{}Request", camel(method))
}

/// See [`request_type`].
pub(crate) fn response_type(method: &str) -> String {
    format!("{}Response", camel(method))
}

/// The name of an inline object type: its owner and the field.
pub(crate) fn inline_type(owner: &str, field: &str) -> String {
    format!("{}{}", owner, camel(field))
}

/// The constant that holds an endpoint's catalog entry.
pub(crate) fn endpoint_const(method: &str) -> String {
    format!("EP_{}", method.to_shouty_snake_case())
}

/// The static that holds a struct's field tree for drift reports (`drift_shapes.rs`).
pub(crate) fn shape_static(struct_name: &str) -> String {
    format!("T_{}", struct_name.to_shouty_snake_case())
}

/// The name of the stream method of a paged endpoint.
pub(crate) fn stream_method(method: &str) -> String {
    format!("{method}_stream")
}

/// The page-stream method of a paged endpoint's method.
pub(crate) fn pages_method(method: &str) -> String {
    format!("{method}_pages")
}

/// The name of an enum's catch-all variant.
pub(crate) const CATCH_ALL: &str = "Unrecognized";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_names() {
        assert_eq!(
            snake("ExternalUserID"),
            RustIdent {
                name: "external_user_id".into(),
                raw: false
            }
        );
        assert_eq!(snake("CreateTime").name, "create_time");
        assert_eq!(snake("userid").name, "userid");
        assert_eq!(
            snake("type"),
            RustIdent {
                name: "type".into(),
                raw: true
            }
        );
        assert_eq!(snake("self").name, "self_");
        assert_eq!(snake("1st").name, "n_1st");
        assert_eq!(snake("pic-url").name, "pic_url");
        assert_eq!(snake("type").ident().to_string(), "r#type");
    }

    #[test]
    fn camel_names() {
        assert_eq!(camel("corp_tag"), "CorpTag");
        assert_eq!(camel("miniprogram"), "Miniprogram");
        assert_eq!(camel("201"), "V201");
        assert_eq!(camel("self"), "Self_");
    }

    #[test]
    fn method_names_follow_paths() {
        assert_eq!(method_name("externalcontact/get_corp_tag_list"), "get_corp_tag_list");
        assert_eq!(method_name("externalcontact/groupchat/get"), "groupchat_get");
        assert_eq!(method_name("idconvert/chatid"), "idconvert_chatid");
        assert_eq!(method_name("gettoken"), "gettoken");
        assert_eq!(
            method_name("externalcontact/group_welcome_template/add"),
            "group_welcome_template_add"
        );
        assert_eq!(request_type("groupchat_get"), "GroupchatGetRequest");
        assert_eq!(endpoint_const("groupchat_get"), "EP_GROUPCHAT_GET");
        assert_eq!(inline_type("AddContactWay", "conclusions"), "AddContactWayConclusions");
    }
}
