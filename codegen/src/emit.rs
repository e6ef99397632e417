//! Stage 4: token streams from the model (`quote!` only, no I/O).

mod stream_docs;

use crate::model::*;
use crate::naming;
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};
use std::collections::BTreeSet;

fn ident(s: &str) -> Ident {
    Ident::new(s, Span::call_site())
}

fn docs(lines: &[String]) -> TokenStream {
    let ls = lines.iter().map(|l| {
        let text = if l.is_empty() {
            String::new()
        } else {
            format!(" {}", escape_doc(l))
        };
        quote! { #[doc = #text] }
    });
    quote! { #(#ls)* }
}

/// Keeps rustdoc quiet: bare URLs become links, brackets are not read as intra-doc links.
fn escape_doc(s: &str) -> String {
    let mut out = String::new();
    for (i, word) in s.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if (word.starts_with("http://") || word.starts_with("https://")) && !word.starts_with('<') {
            out.push('<');
            out.push_str(word);
            out.push('>');
        } else {
            out.push_str(&word.replace('[', "\\[").replace(']', "\\]"));
        }
    }
    out
}

fn cfg(set: &Option<BTreeSet<String>>) -> TokenStream {
    match set {
        None => quote! {},
        Some(s) if s.len() == 1 => {
            let f = s.iter().next();
            quote! { #[cfg(feature = #f)] }
        }
        Some(s) => {
            let fs = s.iter();
            quote! { #[cfg(any(#(feature = #fs),*))] }
        }
    }
}

fn feature_cfg(f: &Option<String>) -> TokenStream {
    match f {
        None => quote! {},
        Some(f) => quote! { #[cfg(feature = #f)] },
    }
}

fn rust_ty(ty: &Ty) -> TokenStream {
    match ty {
        Ty::Scalar(Scalar::String) => quote! { String },
        Ty::Scalar(Scalar::Bool) => quote! { bool },
        Ty::Scalar(Scalar::I32) => quote! { i32 },
        Ty::Scalar(Scalar::I64) => quote! { i64 },
        Ty::Scalar(Scalar::U32) => quote! { u32 },
        Ty::Scalar(Scalar::U64) => quote! { u64 },
        Ty::Scalar(Scalar::F64) => quote! { f64 },
        Ty::Scalar(Scalar::UnixTime) => quote! { crate::time::UnixTime },
        Ty::Json => quote! { ::serde_json::Value },
        Ty::Secret => quote! { crate::secret::Secret },
        Ty::List(t) => {
            let t = rust_ty(t);
            quote! { Vec<#t> }
        }
        Ty::Struct(n) | Ty::Enum(n) => {
            let n = ident(n);
            quote! { #n }
        }
    }
}

/// The parameter type of a constructor argument or setter for `ty`: integers, `bool` and `f64` plainly (so a
/// literal such as `100` infers), lists as any iterable of anything that converts into the item
/// (`["TAG_ID1"]`, `vec!["a"]`, a `Vec<String>`), everything else as `impl Into<T>`.
fn arg_ty(ty: &Ty) -> TokenStream {
    match ty {
        Ty::Scalar(s) if plain_arg(*s) => rust_ty(ty),
        Ty::List(t) => {
            let t = arg_ty(t);
            quote! { impl IntoIterator<Item = #t> }
        }
        _ => {
            let t = rust_ty(ty);
            quote! { impl Into<#t> }
        }
    }
}

/// Converts `value`, an argument of type [`arg_ty`]`(ty)`, into the field's type `ty`.
fn arg_into(ty: &Ty, value: TokenStream) -> TokenStream {
    match ty {
        Ty::Scalar(s) if plain_arg(*s) => value,
        Ty::List(t) => match &**t {
            Ty::Scalar(s) if plain_arg(*s) => quote! { #value.into_iter().collect() },
            inner => {
                let each = arg_into(inner, quote! { v });
                quote! { #value.into_iter().map(|v| #each).collect() }
            }
        },
        _ => quote! { #value.into() },
    }
}

/// Whether a setter takes the scalar itself (numbers and `bool`, so a literal infers) rather than
/// `impl Into<T>` (strings; `UnixTime`, which a plain integer converts into).
fn plain_arg(s: Scalar) -> bool {
    !matches!(s, Scalar::String | Scalar::UnixTime)
}

fn flex_fn(ty: &Ty, optional: bool) -> Option<String> {
    let base = match ty {
        Ty::Scalar(Scalar::String) => "string",
        Ty::Scalar(Scalar::Bool) => "boolean",
        Ty::Scalar(Scalar::F64) => "float",
        Ty::Scalar(_) => "int",
        _ => return None,
    };
    Some(if optional {
        format!("crate::flex::opt_{base}")
    } else {
        format!("crate::flex::{base}")
    })
}

fn field_tokens(f: &Field) -> TokenStream {
    let doc = docs(&f.doc);
    let name = f.rust.ident();
    let ty = rust_ty(&f.ty);
    let mut attrs = Vec::new();
    if f.rust.name != f.wire {
        let w = &f.wire;
        attrs.push(quote! { rename = #w });
    }
    if f.is_option() {
        attrs.push(quote! { default, skip_serializing_if = "Option::is_none" });
    } else if f.serde_default || f.empty_when_absent {
        attrs.push(quote! { default });
    }
    if f.flex {
        if let Some(func) = flex_fn(&f.ty, !f.required) {
            attrs.push(quote! { deserialize_with = #func });
        }
    }
    let serde = if attrs.is_empty() {
        quote! {}
    } else {
        quote! { #[serde(#(#attrs),*)] }
    };
    let full_ty = if f.is_option() {
        quote! { Option<#ty> }
    } else {
        ty
    };
    quote! { #doc #serde pub #name: #full_ty, }
}

/// The repository the generated sources are committed in (`generated/`), for links from rustdoc.
const REPOSITORY: &str = "https://github.com/wecom-externalcontact/wecom-externalcontact";

fn struct_tokens(st: &Struct, group: &str) -> TokenStream {
    let mut lines = st.doc.clone();
    lines.extend([
        String::new(),
        format!(
            "Generated from `{}` into `generated/{group}.rs` in the repository: {REPOSITORY}/blob/main/generated/{group}.rs",
            st.source
        ),
    ]);
    let doc = docs(&lines);
    let cfg = cfg(&st.cfg);
    let name = ident(&st.name);
    let default = if st.default {
        quote! { Default, }
    } else {
        quote! {}
    };
    let deny = if st.deny_unknown {
        quote! { #[serde(deny_unknown_fields)] }
    } else {
        quote! {}
    };
    let fields = st.fields.iter().map(field_tokens);

    let required: Vec<&Field> = st.fields.iter().filter(|f| f.required).collect();
    let params = required.iter().map(|f| {
        let n = f.rust.ident();
        let t = arg_ty(&f.ty);
        quote! { #n: #t }
    });
    let inits = st.fields.iter().map(|f| {
        let n = f.rust.ident();
        if f.required {
            let v = arg_into(&f.ty, quote! { #n });
            quote! { #n: #v }
        } else if f.empty_when_absent {
            quote! { #n: Vec::new() }
        } else {
            quote! { #n: None }
        }
    });
    let setters = st.fields.iter().filter(|f| !f.required).map(|f| {
        let n = f.rust.ident();
        let t = arg_ty(&f.ty);
        let v = arg_into(&f.ty, quote! { value });
        let set = if f.empty_when_absent {
            quote! { self.#n = #v; }
        } else {
            quote! { self.#n = Some(#v); }
        };
        let d = format!(
            " Sets `{}`: {}",
            f.wire,
            escape_doc(f.doc.first().map(String::as_str).unwrap_or(""))
        );
        quote! {
            #[doc = #d]
            #[must_use]
            pub fn #n(mut self, value: #t) -> Self {
                #set
                self
            }
        }
    });
    let many = if required.len() > 7 {
        quote! { #[allow(clippy::too_many_arguments)] }
    } else {
        quote! {}
    };
    let lists = if st.fields.iter().any(|f| f.empty_when_absent) {
        " (a list: empty)"
    } else {
        ""
    };
    let new_doc = if required.is_empty() {
        format!(
            " Creates an empty `{}`: every field is optional{lists}; set them with the methods below.",
            st.name
        )
    } else {
        format!(
            " Creates a `{}` from its required fields; every optional field starts as `None`{lists}.",
            st.name
        )
    };
    quote! {
        #doc
        #cfg
        #[derive(Debug, Clone, PartialEq, #default ::serde::Serialize, ::serde::Deserialize)]
        #[non_exhaustive]
        #deny
        pub struct #name { #(#fields)* }

        #cfg
        impl #name {
            #[doc = #new_doc]
            #many
            pub fn new(#(#params),*) -> Self {
                Self { #(#inits),* }
            }
            #(#setters)*
        }
    }
}

/// One shape for every generated enum (API enums and event values): the documented values, a catch-all
/// `Unrecognized` that keeps any other wire value, `#[non_exhaustive]`, the wire value (`code()` for integer
/// codes, `as_str()` for string codes), `from_code`, `FromStr`, `Display` and serde impls.
fn enum_tokens(e: &Enum) -> TokenStream {
    let doc = docs(&e.doc);
    let cfg = cfg(&e.cfg);
    let name = ident(&e.name);
    let catch = ident(naming::CATCH_ALL);
    let variants = e.values.iter().map(|v| {
        let vn = ident(&v.name);
        let code = match &v.code {
            Code::Int(i) => i.to_string(),
            Code::Str(s) => format!("\"{s}\""),
        };
        let d = format!(" `{code}`: {}", escape_doc(&v.doc));
        quote! { #[doc = #d] #vn, }
    });
    let (to, from): (Vec<_>, Vec<_>) = e
        .values
        .iter()
        .map(|v| {
            let vn = ident(&v.name);
            let c = match (&v.code, e.repr) {
                (Code::Int(i), EnumRepr::Int) => Literal::i64_unsuffixed(*i),
                (Code::Str(s), EnumRepr::String) => Literal::string(s),
                // validate refuses a code that does not fit its repr
                (Code::Int(i), EnumRepr::String) => Literal::string(&i.to_string()),
                (Code::Str(_), EnumRepr::Int) => Literal::i64_unsuffixed(0),
            };
            (quote! { Self::#vn => #c }, quote! { #c => Self::#vn })
        })
        .unzip();
    // What differs between integer and string codes: the catch-all's payload, the accessor, and how a code
    // is read, shown and (de)serialized.
    let (derive, payload, accessor, from_code, from_str, display, ser, de) = match e.repr {
        EnumRepr::Int => (
            quote! { Copy, },
            quote! { i64 },
            quote! {
                /// The wire code.
                pub fn code(self) -> i64 {
                    match self { #(#to,)* Self::#catch(code) => code }
                }
            },
            quote! {
                /// The value of a wire code; an unknown code is kept in the catch-all variant.
                pub fn from_code(code: i64) -> Self {
                    match code { #(#from,)* other => Self::#catch(other) }
                }
            },
            quote! {
                type Err = ::std::num::ParseIntError;
                fn from_str(s: &str) -> Result<Self, Self::Err> {
                    s.trim().parse().map(Self::from_code)
                }
            },
            quote! { write!(f, "{}", self.code()) },
            quote! { serializer.serialize_i64(self.code()) },
            quote! { crate::flex::int::<D, i64>(deserializer).map(Self::from_code) },
        ),
        EnumRepr::String => (
            quote! {},
            quote! { String },
            quote! {
                /// The wire value.
                pub fn as_str(&self) -> &str {
                    match self { #(#to,)* Self::#catch(code) => code.as_str() }
                }
            },
            quote! {
                /// The value of a wire value; an unknown one is kept in the catch-all variant.
                pub fn from_code(code: &str) -> Self {
                    match code { #(#from,)* other => Self::#catch(other.to_string()) }
                }
            },
            quote! {
                type Err = ::std::convert::Infallible;
                fn from_str(s: &str) -> Result<Self, Self::Err> {
                    Ok(Self::from_code(s))
                }
            },
            quote! { f.write_str(self.as_str()) },
            quote! { serializer.serialize_str(self.as_str()) },
            quote! { crate::flex::string(deserializer).map(|s| Self::from_code(&s)) },
        ),
    };
    quote! {
        #doc
        #cfg
        #[derive(Debug, Clone, #derive PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum #name {
            #(#variants)*
            /// A value this version of the crate does not know; the wire value is kept.
            #catch(#payload),
        }

        #cfg
        impl #name {
            #accessor
            #from_code
        }

        #cfg
        impl ::std::str::FromStr for #name {
            #from_str
        }

        #cfg
        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                #display
            }
        }

        #cfg
        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                #ser
            }
        }

        #cfg
        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                #de
            }
        }
    }
}

fn opt_str(s: &Option<String>) -> TokenStream {
    match s {
        Some(s) => quote! { Some(#s) },
        None => quote! { None },
    }
}

fn endpoint_const(ep: &Endpoint) -> TokenStream {
    let cfg = feature_cfg(&ep.feature);
    let c = ident(&ep.const_name);
    let (name, name_zh, summary, group, path) = (&ep.fn_name, &ep.name_zh, &ep.summary, &ep.group, &ep.path);
    let doc_url = ep.doc_url.as_deref().unwrap_or_default();
    let method = match ep.http_method {
        HttpMethod::Get => quote! { Get },
        HttpMethod::Post => quote! { Post },
    };
    let token = token_kind(ep.token);
    let deprecated = opt_str(&ep.deprecated);
    let upload = opt_str(&ep.upload);
    let idempotent = ep.idempotent;
    let max_concurrency = match ep.max_concurrency {
        Some(n) => {
            let n = proc_macro2::Literal::u32_unsuffixed(n);
            quote! { Some(#n) }
        }
        None => quote! { None },
    };
    let one_at_a_time_per = opt_str(&ep.one_at_a_time_per);
    let rate_limit = crate::limits::emit_budget(ep.rate_limit);
    let ex_req = opt_str(&ep.example_request);
    let ex_resp = opt_str(&ep.example_response);
    let paging = match &ep.paging {
        None => quote! { None },
        Some(p) => {
            let style = match p.style.style() {
                PagingStyle::Cursor => quote! { Cursor },
                PagingStyle::Offset => quote! { Offset },
            };
            let cursor = &p.cursor.wire;
            let next = match &p.style {
                PagingKind::Cursor { next, .. } => opt_str(&Some(next.wire.clone())),
                PagingKind::Offset { .. } => opt_str(&None),
            };
            let items = &p.items.wire;
            let limit = opt_str(&p.style.limit().map(|f| f.wire.clone()));
            let partial = &p.partial;
            quote! { Some(crate::catalog::Paging { style: crate::catalog::PagingStyle::#style, cursor: #cursor, next: #next, items: #items, limit: #limit, partial: &[#(#partial),*] }) }
        }
    };
    let rules = ep.at_least_one_of.iter().map(|names| {
        quote! { crate::catalog::RequestRule::AtLeastOneOf(&[#(#names),*]) }
    });
    let doc = format!(" Catalog entry of `{path}`.");
    quote! {
        #[doc = #doc]
        #cfg
        pub(crate) const #c: crate::catalog::Endpoint = crate::catalog::Endpoint {
            name: #name,
            name_zh: #name_zh,
            summary: #summary,
            group: #group,
            method: crate::catalog::HttpMethod::#method,
            path: #path,
            doc_url: #doc_url,
            token: crate::catalog::TokenKind::#token,
            deprecated: #deprecated,
            upload: #upload,
            idempotent: #idempotent,
            max_concurrency: #max_concurrency,
            one_at_a_time_per: #one_at_a_time_per,
            rate_limit: #rate_limit,
            paging: #paging,
            rules: &[#(#rules),*],
            example_request: #ex_req,
            example_response: #ex_resp,
        };
    }
}

fn method_docs(ep: &Endpoint) -> TokenStream {
    let mut lines = vec![format!("{} — {}", ep.name_zh, ep.summary), String::new()];
    lines.push(format!("`{} /cgi-bin/{}`", ep.http_method.as_str(), ep.path));
    if let Some(url) = &ep.doc_url {
        lines.push(String::new());
        lines.push(format!("Official docs: {url}"));
    }
    lines.push(String::new());
    lines.push(if ep.idempotent {
        "Idempotent (a read): retried on a retryable errcode (-1, 6000, 41063) and on failures before any answer, per the client's retry policy."
            .to_string()
    } else {
        "Not idempotent: never retried.".to_string()
    });
    if let Some(n) = ep.max_concurrency {
        lines.push(String::new());
        lines.push(format!(
            "WeCom allows at most {n} concurrent calls of it per corp; the client queues callers beyond that."
        ));
    }
    if let Some(field) = &ep.one_at_a_time_per {
        lines.push(String::new());
        lines.push(format!(
            "Calls with the same `{field}` run one at a time (WeCom answers 45033 to concurrent ones); the client queues them."
        ));
    }
    for names in &ep.at_least_one_of {
        let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        lines.push(String::new());
        lines.push(format!(
            "Set at least one of {} (a rule of the official docs): otherwise the client refuses the request with \
             `Error::InvalidRequest` before sending it.",
            names.join(", ")
        ));
    }
    if let Some(line) = crate::limits::doc_line(ep.rate_limit, ep.rate_limit_own) {
        lines.push(String::new());
        lines.push(line);
    }
    if ep.token != TokenKind::Access {
        lines.push(String::new());
        lines.push(format!(
            "Needs a client holding a `{}` token (see `TokenKind`).",
            ep.token.as_str()
        ));
    }
    if let Some(n) = &ep.notes {
        lines.push(String::new());
        lines.extend(n.lines().map(str::to_string));
    }
    docs(&lines)
}

/// What one endpoint adds to its group's `impl Client` block and beside it.
struct Method {
    /// The method.
    method: TokenStream,
    /// The `<method>_stream` method of a paged endpoint.
    stream: TokenStream,
    /// The paging trait impl of a paged endpoint's request.
    paged: TokenStream,
}

fn method_tokens(ep: &Endpoint, request: Option<&Struct>) -> Method {
    let doc = method_docs(ep);
    // rustdoc refuses an alias equal to the name (`gettoken`).
    let alias = (ep.path != ep.fn_name).then(|| {
        let path = &ep.path;
        quote! { #[doc(alias = #path)] }
    });
    let m = ident(&ep.fn_name);
    let (req, resp, c) = (ident(&ep.request), ident(&ep.response), ident(&ep.const_name));
    let dep = match &ep.deprecated {
        Some(d) => quote! { #[deprecated(note = #d)] },
        None => quote! {},
    };
    let method = if ep.upload.is_some() {
        quote! {
            #doc
            #alias
            #dep
            pub async fn #m(&self, request: &#req, file: crate::Upload) -> crate::Result<#resp> {
                self.execute_upload(&#c, request, file).await
            }
        }
    } else {
        quote! {
            #doc
            #alias
            #dep
            pub async fn #m(&self, request: &#req) -> crate::Result<#resp> {
                self.execute(&#c, request).await
            }
        }
    };
    let (stream, paged) = ep
        .paging
        .as_ref()
        .map(|p| paging_tokens(ep, p, &dep, request))
        .unwrap_or_default();
    Method { method, stream, paged }
}

/// The expression that takes the page's items out of `response`.
fn take_items(p: &Paging) -> TokenStream {
    let items = p.items.rust.ident();
    if !p.items.is_option() {
        quote! { response.#items }
    } else {
        quote! { response.#items.unwrap_or_default() }
    }
}

/// The stream method and the paging trait impl of a paged endpoint.
fn paging_tokens(ep: &Endpoint, p: &Paging, dep: &TokenStream, request: Option<&Struct>) -> (TokenStream, TokenStream) {
    let sdoc = format!(
        " Every item of [`Client::{}`](crate::Client::{}), page after page, as a stream: follows the {} until the last page{}.",
        ep.fn_name,
        ep.fn_name,
        match p.style.style() {
            PagingStyle::Cursor => "cursor",
            PagingStyle::Offset => "offset",
        },
        if p.chunk.is_some() { "; a list longer than the documented cap is split into several requests" } else { "" }
    );
    match &p.style {
        PagingKind::Cursor { next, .. } => cursor_paging(ep, p, next, dep, &sdoc, request),
        PagingKind::Offset { limit } => offset_paging(ep, p, limit, dep, &sdoc, request),
    }
}

fn cursor_paging(
    ep: &Endpoint,
    p: &Paging,
    next: &Field,
    dep: &TokenStream,
    sdoc: &str,
    request: Option<&Struct>,
) -> (TokenStream, TokenStream) {
    let cfg = feature_cfg(&ep.feature);
    let (req, resp, c) = (ident(&ep.request), ident(&ep.response), ident(&ep.const_name));
    let item = rust_ty(&p.item_ty);
    let take_items = take_items(p);
    let cursor = p.cursor.rust.ident();
    let stream = format_ident!("{}", p.stream_fn);
    let next_required = next.required;
    let next = next.rust.ident();
    let next_val = if next_required {
        quote! { Some(response.#next) }
    } else {
        quote! { response.#next }
    };
    let (get, set) = if p.cursor.required {
        (
            quote! { Some(self.#cursor.as_str()) },
            quote! { self.#cursor = cursor; },
        )
    } else {
        (
            quote! { self.#cursor.as_deref() },
            quote! { self.#cursor = Some(cursor); },
        )
    };
    let split = match &p.chunk {
        None => quote! {},
        Some(Chunk { field: f, max }) => {
            let max = Literal::usize_unsuffixed(*max);
            let fi = f.rust.ident();
            let acc = if f.required {
                quote! { Some(&mut request.#fi) }
            } else {
                quote! { request.#fi.as_mut() }
            };
            quote! {
                fn split(self) -> Vec<Self> {
                    crate::paging::split_list(self, #max, |request| #acc)
                }
            }
        }
    };
    let paged = quote! {
        #cfg
        impl crate::paging::CursorPaged for #req {
            type Response = #resp;
            type Item = #item;
            const ENDPOINT: &'static crate::catalog::Endpoint = &#c;
            fn cursor(&self) -> Option<&str> { #get }
            fn set_cursor(&mut self, cursor: String) { #set }
            fn into_page(response: #resp) -> (Vec<#item>, Option<String>) { (#take_items, #next_val) }
            #split
        }
    };
    let pages = format_ident!("{}", p.pages_fn);
    let drops = format!(
        " Items only: the pages' cursors{} are dropped; [`Client::{pages}`](crate::Client::{pages}) keeps them and resumes.",
        if p.partial.is_empty() {
            String::new()
        } else {
            format!(" and partial-failure fields (`{}`)", p.partial.join("`, `"))
        }
    );
    let pdoc = format!(
        " Every page of [`Client::{}`](crate::Client::{}) as a stream of [`Page`](crate::paging::Page)s: each with its items, the request and cursor that fetched it, the next cursor (to resume from) and {}.",
        ep.fn_name,
        ep.fn_name,
        if p.partial.is_empty() {
            "the endpoint's partial-failure fields (none for this endpoint)".to_string()
        } else {
            format!("its partial-failure fields (`{}`)", p.partial.join("`, `"))
        }
    );
    let sexample = stream_docs::example(ep, request, &stream.to_string(), stream_docs::StreamKind::Items);
    let pexample = stream_docs::example(ep, request, &pages.to_string(), stream_docs::StreamKind::Pages);
    let stream = quote! {
        #[doc = #sdoc]
        #[doc = ""]
        #[doc = #drops]
        #sexample
        #dep
        pub fn #stream(&self, request: #req) -> crate::paging::Pages<#item> {
            crate::paging::cursor_stream(self.clone(), request)
        }
        #[doc = #pdoc]
        #pexample
        #dep
        pub fn #pages(&self, request: #req) -> crate::paging::PageStream<#req> {
            crate::paging::cursor_pages(self.clone(), request)
        }
    };
    (stream, paged)
}

fn offset_paging(
    ep: &Endpoint,
    p: &Paging,
    limit: &Field,
    dep: &TokenStream,
    sdoc: &str,
    request: Option<&Struct>,
) -> (TokenStream, TokenStream) {
    let cfg = feature_cfg(&ep.feature);
    let (req, resp, c) = (ident(&ep.request), ident(&ep.response), ident(&ep.const_name));
    let item = rust_ty(&p.item_ty);
    let take_items = take_items(p);
    let cursor = p.cursor.rust.ident();
    let stream = format_ident!("{}", p.stream_fn);
    let li = limit.rust.ident();
    let get_limit = if limit.required {
        quote! { u64::try_from(self.#li).ok() }
    } else {
        quote! { self.#li.and_then(|v| u64::try_from(v).ok()) }
    };
    let cty = rust_ty(&p.cursor.ty);
    let (get, set) = if p.cursor.required {
        (
            quote! { u64::try_from(self.#cursor).unwrap_or(0) },
            quote! { self.#cursor = #cty::try_from(offset).unwrap_or(#cty::MAX); },
        )
    } else {
        (
            quote! { self.#cursor.and_then(|v| u64::try_from(v).ok()).unwrap_or(0) },
            quote! { self.#cursor = Some(#cty::try_from(offset).unwrap_or(#cty::MAX)); },
        )
    };
    let paged = quote! {
        #cfg
        impl crate::paging::OffsetPaged for #req {
            type Response = #resp;
            type Item = #item;
            const ENDPOINT: &'static crate::catalog::Endpoint = &#c;
            fn offset(&self) -> u64 { #get }
            fn set_offset(&mut self, offset: u64) { #set }
            fn limit(&self) -> Option<u64> { #get_limit }
            fn into_items(response: #resp) -> Vec<#item> { #take_items }
        }
    };
    let pages = format_ident!("{}", naming::pages_method(&ep.fn_name));
    let sexample = stream_docs::example(ep, request, &stream.to_string(), stream_docs::StreamKind::Items);
    let pexample = stream_docs::example(ep, request, &pages.to_string(), stream_docs::StreamKind::Pages);
    let drops = format!(
        " Items only: the pages' offsets are dropped; [`Client::{pages}`](crate::Client::{pages}) keeps them and resumes."
    );
    let pdoc = format!(
        " Every page of [`Client::{0}`](crate::Client::{0}) as a stream of [`OffsetPage`](crate::paging::OffsetPage)s: each with its items, the request (and offset) that fetched it and the offset of the next page (to resume from).",
        ep.fn_name
    );
    let stream = quote! {
        #[doc = #sdoc]
        #[doc = ""]
        #[doc = #drops]
        #sexample
        #dep
        pub fn #stream(&self, request: #req) -> crate::paging::Pages<#item> {
            crate::paging::offset_stream(self.clone(), request)
        }
        #[doc = #pdoc]
        #pexample
        #dep
        pub fn #pages(&self, request: #req) -> crate::paging::OffsetPageStream<#req> {
            crate::paging::offset_pages(self.clone(), request)
        }
    };
    (stream, paged)
}

/// One group's file: its structs, enums and catalog constants, one `impl Client` block with every method of
/// the group, and the paging impls of its paged requests.
pub(crate) fn group_file(g: &Group) -> TokenStream {
    let structs = g.structs.iter().map(|st| struct_tokens(st, &g.name));
    let enums = g.enums.iter().map(enum_tokens);
    let consts = g.endpoints.iter().map(endpoint_const);
    let methods: Vec<Method> = g
        .endpoints
        .iter()
        .map(|ep| method_tokens(ep, g.structs.iter().find(|st| st.name == ep.request)))
        .collect();
    let client = if methods.is_empty() {
        quote! {}
    } else {
        let cfg = feature_cfg(&g.feature);
        let fns = methods.iter().map(|m| {
            let (method, stream) = (&m.method, &m.stream);
            quote! { #method #stream }
        });
        let doc = format!(" The `{}` group: {}", g.name, escape_doc(&g.doc));
        quote! {
            #[doc = #doc]
            #cfg
            impl crate::Client {
                #(#fns)*
            }
        }
    };
    let paged = methods.iter().map(|m| &m.paged);
    quote! {
        #(#structs)*
        #(#enums)*
        #(#consts)*
        #client
        #(#paged)*
    }
}

/// The index that includes every group file (from `OUT_DIR`).
pub(crate) fn models_index(api: &Api) -> TokenStream {
    let incs = api.groups.iter().filter(|g| !g.is_empty()).map(|g| {
        let f = format!("/{}.rs", g.name);
        quote! { include!(concat!(env!("OUT_DIR"), #f)); }
    });
    quote! { #(#incs)* }
}

/// The catalog: the endpoint list and the by-path dispatch tables.
pub(crate) fn catalog_file(api: &Api) -> TokenStream {
    let eps: Vec<&Endpoint> = api.groups.iter().flat_map(|g| g.endpoints.iter()).collect();
    let entries = eps.iter().map(|ep| {
        let cfg = feature_cfg(&ep.feature);
        let c = ident(&ep.const_name);
        quote! { #cfg crate::models::#c, }
    });
    let arms = eps.iter().map(|ep| {
        let cfg = feature_cfg(&ep.feature);
        let p = &ep.path;
        let (r, s) = (ident(&ep.request), ident(&ep.response));
        quote! { #cfg #p => Some(super::Ops::of::<crate::models::#r, crate::models::#s>()), }
    });
    // Every group's, compiled or not: a name to keep out of logs is worth knowing in any build.
    let secret: BTreeSet<&str> = api
        .groups
        .iter()
        .flat_map(|g| g.structs.iter())
        .flat_map(|s| s.fields.iter())
        .filter(|f| is_secret(&f.ty))
        .map(|f| f.wire.as_str())
        .collect();
    let secret = secret.into_iter();
    let limits = crate::limits::emit(api.limits.as_ref());
    quote! {
        #limits
        /// The wire names of the fields the spec marks `secret`, sorted.
        pub(crate) static SECRET_FIELDS: &[&str] = &[#(#secret),*];
        /// Every catalogued endpoint compiled into this build, in spec order.
        pub(crate) static ENDPOINTS: &[super::Endpoint] = &[#(#entries)*];
        /// The typed operations (round trips, validation, calls) of the endpoint at `path`.
        pub(crate) fn ops(path: &str) -> Option<super::Ops> {
            match path { #(#arms)* _ => None }
        }
    }
}

/// A credential, or a list of them.
fn is_secret(ty: &Ty) -> bool {
    match ty {
        Ty::Secret => true,
        Ty::List(inner) => is_secret(inner),
        _ => false,
    }
}

/// `event_tests.rs`: one test per official event sample of the spec, and a constant holding its XML (included by the SDK's
/// `tests/it/callback_events.rs`; `support::check_event_sample` in `tests/it/support/mod.rs` checks each).
pub(crate) fn event_tests(api: &Api) -> TokenStream {
    let tests = api.events.iter().flat_map(|ev| {
        ev.samples.iter().map(move |x| {
            let (name, konst) = (ident(&x.test_name), ident(&x.const_name));
            let (variant, envelope, xml) = (&ev.name, &x.envelope, &x.xml);
            let doc = format!(
                "The official `{}` sample of `{}` (spec/events.yaml).",
                x.envelope, ev.name
            );
            let expect = match &x.expect {
                Some(e) => quote! { Some(#e) },
                None => quote! { None },
            };
            quote! {
                #[doc = #doc]
                const #konst: &str = #xml;
                #[test]
                fn #name() {
                    support::check_event_sample(#variant, #envelope, #konst, #expect);
                }
            }
        })
    });
    quote! { #(#tests)* }
}

/// One test per endpoint, for `tests/it/endpoints.rs`: the official examples survive JSON → typed → JSON, and
/// the typed method, run against the stand-in, sends the documented method, path, query and body and decodes
/// the example response. The helpers live in `tests/it/support/mod.rs`.
pub(crate) fn endpoint_tests(api: &Api) -> TokenStream {
    let tests = api.groups.iter().flat_map(|g| g.endpoints.iter()).map(|ep| {
        let cfg = feature_cfg(&ep.feature);
        let path = &ep.path;
        let m = ident(&ep.fn_name);
        let req = ident(&ep.request);
        let rt = format_ident!("{}_examples_round_trip", ep.fn_name);
        let wire = format_ident!("{}_on_the_wire", ep.fn_name);
        let call = if ep.upload.is_some() {
            quote! { client.#m(&request, support::sample_upload()).await }
        } else {
            quote! { client.#m(&request).await }
        };
        quote! {
            #cfg
            #[test]
            fn #rt() {
                support::examples_round_trip(#path);
            }
            #cfg
            #[tokio::test]
            #[allow(deprecated)]
            async fn #wire() {
                let (standin, client, ep) = support::setup(#path).await;
                let request: wecom_externalcontact::models::#req = support::example_request(ep);
                let response = #call.expect("the call succeeds against the stand-in");
                support::check_exchange(ep, &standin, &request, &response);
            }
        }
    });
    quote! { #(#tests)* }
}

fn event_ty(f: &EventField) -> TokenStream {
    let base = match &f.ty {
        EventTy::String => quote! { String },
        EventTy::Secret => quote! { crate::secret::Secret },
        EventTy::U64 => quote! { u64 },
        EventTy::I64 => quote! { i64 },
        EventTy::UnixTime => quote! { crate::time::UnixTime },
        EventTy::Items => return quote! { Vec<String> },
        EventTy::Values(n) => {
            let n = ident(n);
            quote! { #n }
        }
    };
    if f.required {
        base
    } else {
        quote! { Option<#base> }
    }
}

/// The callback event types, included by `src/callback/event.rs`: the `event_values` enums (in a module
/// `values` that `callback` re-exports whole, with their field decoders), `EventKind`
/// with one variant per spec event, the (event, change type) → decoder table `KINDS`, and the glue that
/// writes a kind back under its wire names. The readers and writers it calls live in `event.rs`.
pub(crate) fn callback_events(api: &Api) -> TokenStream {
    let values = api.event_values.iter().map(enum_tokens);
    let value_names: Vec<Ident> = api.event_values.iter().map(|e| ident(&e.name)).collect();
    let variants = api.events.iter().map(|ev| {
        let mut lines = ev.doc.clone();
        lines.push(String::new());
        if ev.change_type.is_empty() {
            lines.push(format!("Wire: `{}` (no `ChangeType`).", ev.event));
        } else {
            lines.push(format!("Wire: `{}` / `{}`.", ev.event, ev.change_type));
        }
        let doc = docs(&lines);
        let vn = ident(&ev.name);
        let fields = ev.fields.iter().map(|f| {
            let d = docs(&[escape_doc(&f.doc), String::new(), format!("Wire name: `{}`.", f.wire)]);
            let n = f.rust.ident();
            let t = event_ty(f);
            quote! { #d #n: #t, }
        });
        quote! { #doc #vn { #(#fields)* }, }
    });
    let kinds = api.events.iter().map(|ev| {
        let vn = ident(&ev.name);
        let (e, c) = (&ev.event, &ev.change_type);
        let takes = ev.fields.iter().map(|f| {
            let n = f.rust.ident();
            let t = event_ty(f);
            let w = &f.wire;
            quote! { #n: <#t as WireField>::take(reader, #w)?, }
        });
        quote! {
            KindEntry {
                event: #e,
                change_type: #c,
                decode: |reader: &mut FieldReader| -> Result<EventKind, CallbackError> {
                    Ok(EventKind::#vn { #(#takes)* })
                },
            },
        }
    });
    let names = api.events.iter().map(|ev| {
        let vn = ident(&ev.name);
        let (e, c) = (&ev.event, &ev.change_type);
        let c = if c.is_empty() {
            quote! { None }
        } else {
            quote! { Some(#c) }
        };
        quote! { EventKind::#vn { .. } => (Some(#e), #c), }
    });
    let puts = api.events.iter().map(|ev| {
        let vn = ident(&ev.name);
        let fs: Vec<_> = ev.fields.iter().map(|f| f.rust.ident()).collect();
        let ws = ev.fields.iter().map(|f| &f.wire);
        quote! { EventKind::#vn { #(#fs,)* } => { #(WireField::put(#fs, #ws, out);)* } }
    });
    quote! {
        /// The `event_values` enums of `spec/events.yaml`: string codes of event fields. `callback`
        /// re-exports everything in here, so a new enum needs no Rust edit.
        pub(crate) mod values {
            use super::*;

            #(#values)*

            string_codes!(#(#value_names),*);
        }

        use values::*;

        /// What a callback reports: one variant per (`Event`/`InfoType`, `ChangeType`) pair this crate
        /// knows (from `spec/events.yaml`), and [`EventKind::Unrecognized`] for any other.
        ///
        /// Field names follow the wire names (`UserID` → `user_id`); fields WeCom may leave out are
        /// `Option`s, and list fields such as `MemChangeList` are a `Vec` with every `<Item>`.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum EventKind {
            #(#variants)*
            /// An event this crate has no variant for (or a message without `Event`), with every field
            /// other than the envelope, `Event`/`InfoType` and `ChangeType`, in document order.
            Unrecognized {
                /// The event name (`Event` or `InfoType`), if present.
                event: Option<String>,
                /// `ChangeType`, if present.
                change_type: Option<String>,
                /// All other fields, nested and repeated ones included.
                fields: Fields,
            },
        }

        /// The decoders of the known kinds, by (`Event`/`InfoType`, `ChangeType`).
        #[allow(unused_variables)] // kinds without fields leave the reader unused
        static KINDS: &[KindEntry] = &[ #(#kinds)* ];

        impl EventKind {
            /// The event name (`Event` or `InfoType`) and `ChangeType` of this kind.
            fn wire_names(&self) -> (Option<&str>, Option<&str>) {
                match self {
                    #(#names)*
                    EventKind::Unrecognized { event, change_type, .. } => (event.as_deref(), change_type.as_deref()),
                }
            }

            /// Appends this kind's fields under their wire names.
            fn put_fields<'a>(&'a self, out: &mut Vec<(&'a str, Out<'a>)>) {
                match self {
                    #(#puts)*
                    EventKind::Unrecognized { fields, .. } => {
                        for (name, node) in fields.iter() {
                            out.push((name, Out::Node(node)));
                        }
                    }
                }
            }
        }
    }
}

/// The runtime's `TokenKind` variant (`Access`, …) of a spec token kind.
pub(crate) fn token_kind(kind: TokenKind) -> TokenStream {
    match kind {
        TokenKind::Access => quote! { Access },
        TokenKind::Suite => quote! { Suite },
        TokenKind::Provider => quote! { Provider },
        TokenKind::None => quote! { None },
    }
}
