//! The module graph of `src/` runs one way: every `crate::…` reference of a hand-written module names only
//! modules on a lower layer of the list in ARCHITECTURE.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The layers declared in ARCHITECTURE.md (between the `layers` markers), lowest first: module → rank.
fn declared_layers(architecture: &str) -> BTreeMap<String, usize> {
    let begin = architecture
        .find("<!-- layers: begin -->")
        .expect("ARCHITECTURE.md has a `<!-- layers: begin -->` marker");
    let end = architecture
        .find("<!-- layers: end -->")
        .expect("ARCHITECTURE.md has a `<!-- layers: end -->` marker");
    let mut ranks = BTreeMap::new();
    let lines = architecture[begin..end]
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty() && !l.starts_with("```"));
    for (rank, line) in lines.enumerate() {
        for module in line.split_whitespace() {
            let earlier = ranks.insert(module.to_string(), rank);
            assert!(earlier.is_none(), "ARCHITECTURE.md lists `{module}` twice");
        }
    }
    ranks
}

/// The source with comments blanked (line comments and doc comments; line numbers kept).
fn code_only(source: &str) -> String {
    source
        .lines()
        .map(|line| if line.trim_start().starts_with("//") { "" } else { line })
        .map(|line| match line.find(" // ") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every first path segment after `crate::` in `code`, with its line: `crate::token::Secret` gives `token`,
/// `crate::{Error, token::{A, B}}` gives `Error` and `token`.
fn crate_refs(code: &str) -> Vec<(usize, String)> {
    let mut refs = Vec::new();
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    let mut from = 0;
    while let Some(at) = code[from..].find("crate::") {
        let start = from + at;
        from = start + "crate::".len();
        let before = code[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `$crate::`
        }
        let line = code[..start].matches('\n').count() + 1;
        let rest = &code[from..];
        if let Some(group) = rest.strip_prefix('{') {
            let (mut depth, mut item) = (0usize, String::new());
            let mut items = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(std::mem::take(&mut item));
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            items.push(item);
            refs.extend(
                items
                    .iter()
                    .map(|i| ident(i.trim()))
                    .filter(|n| !n.is_empty())
                    .map(|n| (line, n)),
            );
        } else {
            refs.push((line, ident(rest)));
        }
    }
    refs
}

/// Names `lib.rs` re-exports at the crate root, and the module each comes from.
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for line in code_only(lib).lines() {
        let Some(path) = line.trim().strip_prefix("pub use ").and_then(|l| l.strip_suffix(';')) else {
            continue;
        };
        let Some((module, items)) = path.split_once("::") else {
            continue;
        };
        for item in items.trim_start_matches('{').trim_end_matches('}').split(',') {
            let name = item
                .trim()
                .rsplit(" as ")
                .next()
                .unwrap_or("")
                .rsplit("::")
                .next()
                .unwrap_or("");
            if !name.is_empty() {
                names.insert(name.to_string(), module.to_string());
            }
        }
    }
    names
}

/// The hand-written `.rs` files under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The upward (or sideways) references of a crate laid out in `files` ((path under src/, source)), as
/// `file:line: module -> module` lines; modules missing from `ranks` are reported too.
fn violations(files: &[(String, String)], lib: &str, ranks: &BTreeMap<String, usize>) -> Vec<String> {
    let reexports = root_reexports(lib);
    let inline_modules: BTreeSet<String> = code_only(lib)
        .lines()
        .filter_map(|l| {
            let l = l.trim().trim_start_matches("pub ").strip_prefix("mod ")?;
            l.strip_suffix(" {").map(str::to_string)
        })
        .collect();
    let mut found = Vec::new();
    let mut modules = BTreeSet::new();
    for (rel, source) in files {
        let module = rel.split('/').next().unwrap_or("").trim_end_matches(".rs").to_string();
        if module == "lib" {
            continue;
        }
        modules.insert(module.clone());
        let Some(&own) = ranks.get(&module) else {
            found.push(format!(
                "src/{rel}: module `{module}` is not placed in ARCHITECTURE.md's layers"
            ));
            continue;
        };
        for (line, name) in crate_refs(&code_only(source)) {
            let target = if ranks.contains_key(&name) {
                name.clone()
            } else if let Some(m) = reexports.get(&name) {
                m.clone()
            } else {
                format!("the crate root (`{name}`)")
            };
            if target == module {
                continue;
            }
            match ranks.get(&target) {
                Some(&rank) if rank < own => {}
                Some(_) => found.push(format!(
                    "src/{rel}:{line}: `{module}` uses `{target}` (via `crate::{name}`), which is not on a lower layer"
                )),
                None => found.push(format!(
                    "src/{rel}:{line}: `{module}` uses {target}, which is in no layer"
                )),
            }
        }
    }
    for listed in ranks.keys() {
        if !modules.contains(listed) && !inline_modules.contains(listed) {
            found.push(format!("ARCHITECTURE.md lists `{listed}`, which is no module of src/"));
        }
    }
    found
}

fn src_files() -> Vec<(String, String)> {
    let src = root().join("src");
    rust_files(&src)
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&src)
                .expect("under src/")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&p).expect("a readable source file");
            (rel, text)
        })
        .collect()
}

#[test]
fn the_module_graph_of_src_runs_one_way_as_architecture_md_declares() {
    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let ranks = declared_layers(&architecture);
    let files = src_files();
    let lib = &files.iter().find(|(rel, _)| rel == "lib.rs").expect("src/lib.rs").1;
    let found = violations(&files, lib, &ranks);
    assert!(
        found.is_empty(),
        "the module graph of src/ is not as ARCHITECTURE.md declares:\n{}",
        found.join("\n")
    );
    assert!(ranks.len() >= 10, "the layers are read: {ranks:?}");
}

#[test]
fn an_upward_import_in_any_form_is_reported_with_its_file_and_line() {
    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let ranks = declared_layers(&architecture);
    let files = src_files();
    let lib = files
        .iter()
        .find(|(rel, _)| rel == "lib.rs")
        .expect("src/lib.rs")
        .1
        .clone();
    let with = |rel: &str, extra: &str| {
        let mut files = files.clone();
        let file = files.iter_mut().find(|(r, _)| r == rel).expect("the file exists");
        file.1.push_str(extra);
        violations(&files, &lib, &ranks)
    };
    // A `use` line, a grouped `use`, a path in code and a name re-exported at the crate root.
    let lines = |rel: &str| {
        files
            .iter()
            .find(|(r, _)| r == rel)
            .expect("the file exists")
            .1
            .lines()
            .count()
    };
    let cases = [
        (
            "token/cached.rs",
            "\nuse crate::client::RetryPolicy;\n",
            "`token` uses `client`",
        ),
        (
            "error/mod.rs",
            "\nuse crate::{errcode, callback::{Event}};\n",
            "`error` uses `callback`",
        ),
        (
            "secret.rs",
            "\nfn f() -> crate::token::CachedToken { todo!() }\n",
            "`secret` uses `token`",
        ),
        (
            "transport.rs",
            "\nfn f(_: crate::Client) {}\n",
            "`transport` uses `client`",
        ),
        (
            "callback/event.rs",
            "\nuse crate::transport::Http;\n",
            "`callback` uses `transport`",
        ),
    ];
    for (rel, extra, says) in cases {
        let found = with(rel, extra);
        let at = format!("src/{rel}:{}:", lines(rel) + 2);
        assert!(
            found.iter().any(|v| v.starts_with(&at) && v.contains(says)),
            "{rel} + {extra:?} is reported as {says} at {at}: {found:?}"
        );
    }
    // A comment or a doc link is not an import; a module not placed in the layers is reported.
    assert!(with("secret.rs", "\n// use crate::client::Client;\n/// [`crate::Client`]\n").is_empty());
    let mut more = files.clone();
    more.push(("queue.rs".into(), "use crate::Error;\n".into()));
    let found = violations(&more, &lib, &ranks);
    assert!(found.iter().any(|v| v.contains("`queue` is not placed")), "{found:?}");
}
