//! The generator's modules import one way: each module of `src/` may use (`crate::…`, outside the code it
//! emits) only modules on the layers below its own. An upward or sideways import fails with the file, the line
//! and the two modules; a new module fails until it is placed here.
use std::collections::BTreeMap;

mod support;

/// Lowest first. Spec types and naming at the bottom, then the stages: load → validate → lower → emit →
/// render (`limits`, `errcodes`, `drift` and `openapi` emit parts of the output from the lowered model).
const LAYERS: &[&[&str]] = &[
    &["error", "locate", "naming", "types"],
    &["spec"],
    &["load"],
    &["validate"],
    &["model"],
    &["lower"],
    &["limits"],
    &["emit"],
    &["errcodes", "drift", "openapi"],
    &["render", "fresh"],
];

/// `text` without comments, string literals and the bodies of `quote!` (the code it emits names the SDK's
/// modules, not the generator's). Newlines are kept, so lines still count.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let rest = || chars[i..].iter().collect::<String>();
        if chars[i] == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                } else if chars[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
        } else if chars[i] == 'q' && rest().starts_with("quote!") {
            i += "quote!".len();
            while i < chars.len() && !"{([".contains(chars[i]) {
                i += 1;
            }
            let mut depth = 0usize;
            while i < chars.len() {
                match chars[i] {
                    '{' | '(' | '[' => depth += 1,
                    '}' | ')' | ']' => depth -= 1,
                    '\n' => out.push('\n'),
                    _ => {}
                }
                i += 1;
                if depth == 0 {
                    break;
                }
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The generator modules `code` uses, with their lines: `crate::x` paths and `use crate::{x, y}` groups.
fn uses(code: &str, modules: &BTreeMap<&str, usize>) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group
                    .split('}')
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|s| s.trim().split("::").next().unwrap_or_default())
                    .collect(),
                None => vec![rest
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .next()
                    .unwrap_or_default()],
            };
            for name in names.into_iter().filter(|m| modules.contains_key(m)) {
                out.push((name.to_string(), n + 1));
            }
        }
    }
    out
}

#[test]
fn generator_modules_import_one_way() {
    let src = support::package_dir().join("src");
    let layer: BTreeMap<&str, usize> = LAYERS
        .iter()
        .enumerate()
        .flat_map(|(i, names)| names.iter().map(move |m| (*m, i)))
        .collect();
    let mut problems = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let Some(module) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|_| path.extension().is_some_and(|e| e == "rs"))
        else {
            continue;
        };
        if module == "lib" {
            continue; // the crate root wires the stages together
        }
        let Some(&own) = layer.get(module) else {
            problems.push(format!(
                "src/{module}.rs: place the module on a layer of LAYERS in tests/layers.rs"
            ));
            continue;
        };
        let code = code_only(&std::fs::read_to_string(&path).unwrap());
        for (used, line) in uses(&code, &layer) {
            checked += 1;
            if used != module && layer[used.as_str()] >= own {
                problems.push(format!(
                    "src/{module}.rs:{line}: `{module}` uses `{used}`, which is not on a layer below it"
                ));
            }
        }
    }
    assert!(checked > 30, "only {checked} imports found: the scan is broken");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_scan_sees_imports_and_skips_emitted_code() {
    let layer: BTreeMap<&str, usize> = [("model", 0), ("naming", 0), ("spec", 0)].into_iter().collect();
    let code = code_only(
        "use crate::{model::Api, naming};\n// crate::spec in a comment\nlet s = \"crate::spec\";\nquote! { crate::model::X { a: {} } };\nlet t = crate::spec::At::default();\n",
    );
    let found = uses(&code, &layer);
    assert_eq!(
        found,
        [
            ("model".to_string(), 1),
            ("naming".to_string(), 1),
            ("spec".to_string(), 5)
        ]
    );
}
