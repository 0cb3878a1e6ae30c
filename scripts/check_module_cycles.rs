//! Fails when the top-level modules of a crate's `src/` import each other in a circle.
//!
//! Run through `scripts/check-module-cycles` (compiled with plain `rustc`, no
//! dependencies, in a few seconds). Usage: `check_module_cycles [--edges] <crate>/src ...`
//! (`--edges` also lists which modules each module uses).
//!
//! # The rule it checks
//! The nodes are the crate's top-level modules (`src/x.rs`, `src/x/mod.rs`, and every
//! file under `src/x/` belongs to `x`); `lib.rs` / `main.rs` themselves are not a node.
//! An edge `a -> b` is any path in a file of `a` that resolves into `b`:
//! - `use` trees, groups included (`use crate::{b::X, c::{Y, Z}}`);
//! - `crate::b::…` (and `$crate::b::…`) paths anywhere: expressions, types, macros;
//! - `super::…` / `self::…` paths, resolved from the file's module path (so only a
//!   `super` that climbs out of `a` can leave it);
//! - a name `lib.rs` re-exports (`pub use b::X`; `crate::X` is an edge to `b`).
//!
//! Code inside `#[cfg(test)]` items counts too. A module and its own children using
//! each other (through `super::`) are one node and never a cycle. The check fails when
//! any strongly connected component has more than one module, and prints each one with
//! the edges (file:line) that close it. Comments, string and char literals are ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// One edge occurrence: the file and line that make `from` depend on `to`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    from: String,
    to: String,
    file: String,
    line: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Semi,
    Star,
    Dollar,
    Other,
}

/// Removes comments, string and char literals, keeping newlines so lines still count.
fn strip(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if (c == 'r' || c == 'b')
            && !b
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
            && raw_string_start(&b, i).is_some()
        {
            let (hashes, body) = raw_string_start(&b, i).unwrap_or((0, i));
            i = body;
            while i < b.len() {
                if b[i] == '"' && (0..hashes).all(|k| b.get(i + 1 + k) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(b[i]));
                i += 1;
            }
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                if let Some(&ch) = b.get(i) {
                    out.push(blank(ch));
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a): only the former
            // closes with a quote within a few characters.
            let close = if next == Some('\\') {
                (i + 2..b.len().min(i + 12)).find(|&k| b[k] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(end) => {
                    out.push_str("' '");
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// At `i` a raw string (`r"`, `r#"`, `br#"`) begins: its hash count and body start.
fn raw_string_start(b: &[char], i: usize) -> Option<(usize, usize)> {
    let mut k = i;
    if b[k] == 'b' {
        k += 1;
    }
    if b.get(k) != Some(&'r') {
        return None;
    }
    k += 1;
    let mut hashes = 0;
    while b.get(k) == Some(&'#') {
        hashes += 1;
        k += 1;
    }
    (b.get(k) == Some(&'"')).then_some((hashes, k + 1))
}

fn tokens(src: &str) -> Vec<(Tok, usize)> {
    let mut out = Vec::new();
    let mut line = 1;
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let word = word.strip_prefix("r#").unwrap_or(&word).to_owned();
            out.push((Tok::Ident(word), line));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push((Tok::PathSep, line));
            i += 2;
        } else {
            let t = match c {
                '{' => Tok::Open,
                '}' => Tok::Close,
                ',' => Tok::Comma,
                ';' => Tok::Semi,
                '*' => Tok::Star,
                '$' => Tok::Dollar,
                _ => Tok::Other,
            };
            out.push((t, line));
            i += 1;
        }
    }
    out
}

/// A source file's module path below the crate root (`[]` for `lib.rs`).
fn module_path(src_dir: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src_dir).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs").to_owned();
        if !(stem == "mod" || (parts.is_empty() && (stem == "lib" || stem == "main"))) {
            parts.push(stem);
        }
    }
    parts
}

/// Expands a `use` tree starting at `toks[*i]` into full paths (with the line of each).
fn use_tree(
    toks: &[(Tok, usize)],
    i: &mut usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, usize)>,
) {
    let mut path = prefix.to_vec();
    let mut line = toks.get(*i).map_or(0, |t| t.1);
    while let Some((tok, l)) = toks.get(*i) {
        match tok {
            Tok::Ident(word) if word == "as" => {
                *i += 2;
                out.push((path.clone(), line));
                return;
            }
            Tok::Ident(word) => {
                line = *l;
                path.push(word.clone());
                *i += 1;
            }
            Tok::PathSep | Tok::Dollar => *i += 1,
            Tok::Star => {
                *i += 1;
                out.push((path.clone(), line));
                return;
            }
            Tok::Open => {
                *i += 1;
                loop {
                    match toks.get(*i).map(|t| &t.0) {
                        Some(Tok::Close) => {
                            *i += 1;
                            return;
                        }
                        Some(Tok::Comma) => *i += 1,
                        None | Some(Tok::Semi) => return,
                        Some(_) => use_tree(toks, i, &path, out),
                    }
                }
            }
            _ => {
                out.push((path.clone(), line));
                return;
            }
        }
    }
}

/// The top-level module a path used in module `here` leads to, if it is one of `mods`
/// (or a name the crate root re-exports from one).
fn resolve(
    path: &[String],
    here: &[String],
    mods: &BTreeSet<String>,
    reexports: &BTreeMap<String, String>,
) -> Option<String> {
    let mut full: Vec<String> = match path.first().map(String::as_str) {
        Some("crate") => path[1..].to_vec(),
        Some("self") => here.iter().chain(&path[1..]).cloned().collect(),
        Some("super") => {
            let ups = path.iter().take_while(|s| s.as_str() == "super").count();
            let kept = here.len().saturating_sub(ups);
            here[..kept].iter().chain(&path[ups..]).cloned().collect()
        }
        // In the crate root a bare path starts at the root; in a child it names a local
        // item, a child module (the same top-level module) or an extern crate.
        _ if here.is_empty() => path.to_vec(),
        _ => return None,
    };
    full.retain(|s| s != "self");
    let first = full.first()?;
    if mods.contains(first) {
        Some(first.clone())
    } else {
        reexports.get(first).cloned()
    }
}

/// A path one file uses: its segments, its line, and the module it is written in (the
/// file's module, plus any inline `mod name { .. }` around it).
struct Used {
    path: Vec<String>,
    line: usize,
    module: Vec<String>,
}

/// Every path a file of module `file_module` uses: `use` trees, and `crate::` /
/// `super::` / `self::` paths elsewhere.
fn paths(toks: &[(Tok, usize)], file_module: &[String]) -> Vec<Used> {
    let mut out = Vec::new();
    let mut module = file_module.to_vec();
    // Inline modules open: the brace depth at which each one closes.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    let is = |i: usize, word: &str| matches!(toks.get(i).map(|t| &t.0), Some(Tok::Ident(w)) if w == word);
    let sep_before = |i: usize| {
        matches!(
            toks.get(i.wrapping_sub(1)).map(|t| &t.0),
            Some(Tok::PathSep)
        )
    };
    while i < toks.len() {
        match &toks[i].0 {
            Tok::Open => {
                depth += 1;
                i += 1;
                continue;
            }
            Tok::Close => {
                if inline.last() == Some(&depth) {
                    inline.pop();
                    module.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
                continue;
            }
            _ => {}
        }
        if is(i, "mod")
            && let (Some((Tok::Ident(name), _)), Some((Tok::Open, _))) =
                (toks.get(i + 1), toks.get(i + 2))
        {
            module.push(name.clone());
            depth += 1;
            inline.push(depth);
            i += 3;
            continue;
        }
        if is(i, "use") && !sep_before(i) {
            i += 1;
            let mut found = Vec::new();
            use_tree(toks, &mut i, &[], &mut found);
            out.extend(found.into_iter().map(|(path, line)| Used {
                path,
                line,
                module: module.clone(),
            }));
            continue;
        }
        let starts = (is(i, "crate") || is(i, "super") || is(i, "self"))
            && matches!(toks.get(i + 1).map(|t| &t.0), Some(Tok::PathSep))
            && !sep_before(i);
        if starts {
            let line = toks[i].1;
            let mut path = Vec::new();
            while let Some((Tok::Ident(w), _)) = toks.get(i) {
                path.push(w.clone());
                i += 1;
                if matches!(toks.get(i).map(|t| &t.0), Some(Tok::PathSep)) {
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(Used {
                path,
                line,
                module: module.clone(),
            });
            continue;
        }
        i += 1;
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The edges between distinct top-level modules of the crate at `src_dir`.
fn edges(src_dir: &Path) -> std::io::Result<(BTreeSet<String>, Vec<Edge>)> {
    let mut files = Vec::new();
    rust_files(src_dir, &mut files)?;
    files.sort();
    let mut sources = Vec::new();
    let mut mods = BTreeSet::new();
    for file in &files {
        let module = module_path(src_dir, file);
        if let Some(top) = module.first() {
            mods.insert(top.clone());
        }
        let text = std::fs::read_to_string(file)?;
        sources.push((file.clone(), module, tokens(&strip(&text))));
    }
    // Names the crate root re-exports from a top-level module (`pub use b::X;`).
    let mut reexports = BTreeMap::new();
    for (_, module, toks) in sources.iter().filter(|s| s.1.is_empty()) {
        for used in paths(toks, module)
            .into_iter()
            .filter(|u| u.module.is_empty())
        {
            let mut path = used.path;
            if path.first().map(String::as_str) == Some("crate") {
                path.remove(0);
            }
            if let (Some(first), Some(last)) = (path.first(), path.last())
                && mods.contains(first)
                && path.len() > 1
            {
                reexports.insert(last.clone(), first.clone());
            }
        }
    }
    let mut found = BTreeSet::new();
    for (file, module, toks) in &sources {
        let Some(from) = module.first() else { continue };
        for Used { path, line, module } in paths(toks, module) {
            if let Some(to) = resolve(&path, &module, &mods, &reexports)
                && &to != from
            {
                let file = file.display().to_string();
                found.insert(Edge {
                    from: from.clone(),
                    to,
                    file,
                    line,
                });
            }
        }
    }
    Ok((mods, found.into_iter().collect()))
}

/// Strongly connected components with more than one node (Tarjan).
fn cycles(nodes: &BTreeSet<String>, edges: &[Edge]) -> Vec<BTreeSet<String>> {
    struct State<'a> {
        adj: BTreeMap<&'a str, BTreeSet<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let succ: Vec<&str> = s
            .adj
            .get(v)
            .map(|n| n.iter().copied().collect())
            .unwrap_or_default();
        for w in succ {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.insert(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        adj: BTreeMap::new(),
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for e in edges {
        s.adj
            .entry(e.from.as_str())
            .or_default()
            .insert(e.to.as_str());
    }
    for n in nodes {
        if !s.index.contains_key(n.as_str()) {
            visit(&mut s, n);
        }
    }
    s.out
}

fn main() -> ExitCode {
    let mut dirs: Vec<String> = std::env::args().skip(1).collect();
    let list = dirs.first().is_some_and(|a| a == "--edges");
    if list {
        dirs.remove(0);
    }
    if dirs.is_empty() {
        eprintln!("usage: check_module_cycles [--edges] <crate>/src ...");
        return ExitCode::from(2);
    }
    let mut failed = false;
    for dir in &dirs {
        let (nodes, edges) = match edges(Path::new(dir)) {
            Ok(found) => found,
            Err(e) => {
                eprintln!("cannot read {dir}: {e}");
                return ExitCode::from(2);
            }
        };
        if list {
            let mut pairs: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for e in &edges {
                pairs.entry(&e.from).or_default().insert(&e.to);
            }
            for (from, to) in pairs {
                let to: Vec<&str> = to.into_iter().collect();
                println!("{dir}: {from} -> {}", to.join(", "));
            }
        }
        let components = cycles(&nodes, &edges);
        if components.is_empty() {
            println!("{dir}: no cycles among {} top-level modules", nodes.len());
            continue;
        }
        failed = true;
        for component in components {
            let names: Vec<&str> = component.iter().map(String::as_str).collect();
            println!("{dir}: modules in a cycle: {}", names.join(", "));
            for e in edges
                .iter()
                .filter(|e| component.contains(&e.from) && component.contains(&e.to))
            {
                println!("  {} -> {}  {}:{}", e.from, e.to, e.file, e.line);
            }
        }
    }
    if failed {
        eprintln!(
            "module cycles found: move the shared type to where it belongs, or pass a callback"
        );
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<(Vec<String>, usize)> {
        paths(&tokens(&strip(s)), &[])
            .into_iter()
            .map(|u| (u.path, u.line))
            .collect()
    }

    #[test]
    fn use_groups_expand_to_every_path() {
        let got: Vec<String> = p("use crate::{a::X, b::{c::Y, Z as W}, d};")
            .into_iter()
            .map(|(path, _)| path.join("::"))
            .collect();
        assert_eq!(
            got,
            ["crate::a::X", "crate::b::c::Y", "crate::b::Z", "crate::d"]
        );
    }

    #[test]
    fn comments_and_strings_are_not_paths_but_expressions_are() {
        let got = p("// crate::a::x\nlet s = \"crate::b\"; /* crate::c */\nlet v = crate::d::f();");
        assert_eq!(got, [(vec!["crate".into(), "d".into(), "f".into()], 3)]);
    }

    #[test]
    fn super_in_an_inline_module_starts_from_that_module() {
        let used = paths(
            &tokens(&strip("mod tests {\n use super::x::Y;\n}\nuse super::z;")),
            &["a".to_owned()],
        );
        let modules: Vec<Vec<String>> = used.iter().map(|u| u.module.clone()).collect();
        assert_eq!(
            modules,
            [
                vec!["a".to_owned(), "tests".to_owned()],
                vec!["a".to_owned()]
            ]
        );
    }

    #[test]
    fn super_climbs_out_of_a_child_only_when_it_goes_past_the_top_module() {
        let mods: BTreeSet<String> = ["a", "b"].map(String::from).into();
        let none = BTreeMap::new();
        let here = ["a".to_owned(), "x".to_owned()];
        let path = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
        assert_eq!(
            resolve(&path("super::y::Z"), &here, &mods, &none),
            Some("a".into())
        );
        assert_eq!(
            resolve(&path("super::super::b::Z"), &here, &mods, &none),
            Some("b".into())
        );
        assert_eq!(
            resolve(&path("serde::Serialize"), &here, &mods, &none),
            None
        );
    }

    #[test]
    fn a_two_module_circle_is_one_component() {
        let e = |from: &str, to: &str| Edge {
            from: from.into(),
            to: to.into(),
            file: String::new(),
            line: 0,
        };
        let nodes: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
        let found = cycles(&nodes, &[e("a", "b"), e("b", "a"), e("b", "c")]);
        assert_eq!(found, [BTreeSet::from(["a".to_owned(), "b".to_owned()])]);
    }
}
