//! The rustdoc example of each `<method>_stream` and `<method>_pages` method: a doctest that starts the embedded
//! stand-in, builds the request from the spec's example request and consumes the stream.
//!
//! An endpoint that takes another token than the corp's access_token gets a `no_run` example with a `client`
//! handed in. The request is written as a user would, `Request::new(…)` with the example's values, when every required
//! field is a string, a number, a bool, a unix time or a list of strings; otherwise it is decoded from the
//! example JSON. The doctest runs where the crate's `standin` feature is on (the crate's own tests) and
//! compiles to nothing elsewhere.

use crate::model::{Endpoint, Field, Struct, TokenKind, Ty};
use crate::types::Scalar;
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;

/// Which of the two stream methods the example is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamKind {
    /// `<method>_stream`: items.
    Items,
    /// `<method>_pages`: pages with their cursors.
    Pages,
}

/// The `#[doc]` attributes of the example of `method` of `ep`, whose request type is `request` (when the group
/// defines it); none when nothing tells the required fields' values. Code lines are not escaped.
pub(crate) fn example(ep: &Endpoint, request: Option<&Struct>, method: &str, kind: StreamKind) -> TokenStream {
    let lines = example_lines(ep, request, method, kind).into_iter().map(|line| {
        let line = if line.is_empty() { line } else { format!(" {line}") };
        quote! { #[doc = #line] }
    });
    quote! { #(#lines)* }
}

fn example_lines(ep: &Endpoint, request: Option<&Struct>, method: &str, kind: StreamKind) -> Vec<String> {
    let req = &ep.request;
    let Some(build) = build_request(ep, request) else {
        return Vec::new(); // required fields and no example to fill them from
    };
    let mut lines = vec![String::new(), "# Example".to_string(), String::new()];
    if ep.token == TokenKind::Access {
        lines.extend([
            "```".to_string(),
            "# #[cfg(feature = \"standin\")]".to_string(),
            "# #[tokio::main(flavor = \"current_thread\")]".to_string(),
            "# async fn main() -> Result<(), Box<dyn std::error::Error>> {".to_string(),
            "use futures_util::StreamExt as _;".to_string(),
            format!("use wecom_externalcontact::models::{req};"),
            String::new(),
            "// A local WeCom for the example; in production, your `Client`.".to_string(),
            "let standin = wecom_externalcontact::standin::StandIn::start().await?;".to_string(),
            "let client = standin.client();".to_string(),
        ]);
    } else {
        // The stand-in's default client holds a corp access_token; this endpoint takes another kind.
        let token = match ep.token {
            TokenKind::Suite => "the suite_access_token",
            TokenKind::Provider => "the provider_access_token",
            TokenKind::Access | TokenKind::None => "no token",
        };
        lines.extend([
            "```no_run".to_string(),
            "# async fn demo(client: wecom_externalcontact::Client) -> Result<(), Box<dyn std::error::Error>> {"
                .to_string(),
            "use futures_util::StreamExt as _;".to_string(),
            format!("use wecom_externalcontact::models::{req};"),
            String::new(),
            format!("// `client` holds {token} this endpoint takes (see `token::TokenProvider`)."),
        ]);
    }
    lines.extend(build);
    match kind {
        StreamKind::Items => lines.extend([
            format!("let mut items = client.{method}(request);"),
            "while let Some(item) = items.next().await {".to_string(),
            "    println!(\"{:?}\", item?);".to_string(),
            "}".to_string(),
        ]),
        StreamKind::Pages => lines.extend([
            format!("let mut pages = client.{method}(request);"),
            "while let Some(page) = pages.next().await {".to_string(),
            "    let page = page?;".to_string(),
            "    println!(\"{} item(s), partial failures {:?}\", page.items.len(), page.partial);".to_string(),
            "    // To resume after a crash, store `page.resume()` (the request of the next page) and".to_string(),
            "    // start the stream from it.".to_string(),
            "}".to_string(),
        ]),
    }
    lines.push("# Ok(()) }".to_string());
    if ep.token == TokenKind::Access {
        lines.push("# #[cfg(not(feature = \"standin\"))] fn main() {}".to_string());
    }
    lines.push("```".to_string());
    lines
}

/// The lines that bind `request`; `None` when nothing tells the required fields' values.
fn build_request(ep: &Endpoint, request: Option<&Struct>) -> Option<Vec<String>> {
    let req = &ep.request;
    let example: Option<Value> = ep.example_request.as_deref().and_then(|e| serde_json::from_str(e).ok());
    let args = request.and_then(|st| {
        st.fields
            .iter()
            .filter(|f| f.required)
            .map(|f| literal(f, example.as_ref()?.get(&f.wire)?))
            .collect::<Option<Vec<String>>>()
    });
    match (args, &ep.example_request) {
        (Some(args), _) => Some(vec![format!("let request = {req}::new({});", args.join(", "))]),
        (None, Some(json)) => {
            let hashes = if json.contains("\"#") { "##" } else { "#" };
            Some(vec![format!(
                "let request: {req} = serde_json::from_str(r{hashes}\"{json}\"{hashes})?;"
            )])
        }
        (None, None) => None,
    }
}

/// A Rust literal for a constructor argument of `field` from its example value, when there is a plain one.
fn literal(field: &Field, value: &Value) -> Option<String> {
    match (&field.ty, value) {
        (Ty::Scalar(Scalar::String), Value::String(s)) => Some(format!("{s:?}")),
        (Ty::Scalar(Scalar::Bool), Value::Bool(b)) => Some(b.to_string()),
        (Ty::Scalar(Scalar::UnixTime), Value::Number(n)) => Some(format!("{}_i64", n.as_i64()?)),
        (Ty::Scalar(s), Value::Number(n)) if s.is_int() => Some(n.as_i64()?.to_string()),
        (Ty::List(inner), Value::Array(items)) if **inner == Ty::Scalar(Scalar::String) => {
            let items: Option<Vec<String>> = items.iter().map(|v| v.as_str().map(|s| format!("{s:?}"))).collect();
            Some(format!("[{}]", items?.join(", ")))
        }
        _ => None,
    }
}
