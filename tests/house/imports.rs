//! Import loops between the top-level modules of a crate: each `crate::x` path (in `use`
//! lines, groups such as `crate::{x, y}`, and inline paths) and each `super::x` of a
//! top-level file is an edge from the module the file belongs to; a strongly connected
//! component of more than one module is a loop.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::repo;

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Identifiers following `prefix` in `line` (`crate::x`, `crate::{x, y::z}`).
fn targets(line: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in line.match_indices(prefix) {
        let rest = &line[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or("");
            for item in group.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.push(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
    }
    out
}

/// The module graph of the crate whose sources are in `src`.
fn graph(src: &Path) -> Graph {
    let mut modules: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut files = Vec::new();
            rust_files(&path, &mut files);
            modules.entry(name).or_default().extend(files);
        } else if path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "main" {
            modules.entry(name).or_default().push(path);
        }
    }
    let mut graph = Graph::new();
    for (module, files) in &modules {
        let edges = graph.entry(module.clone()).or_default();
        for file in files {
            let top = file == &src.join(format!("{module}.rs"))
                || file == &src.join(module).join("mod.rs");
            for line in std::fs::read_to_string(file).unwrap().lines() {
                let code = line.split("//").next().unwrap_or("");
                let mut found = targets(code, "crate::");
                if top {
                    found.extend(targets(code, "super::"));
                }
                for target in found {
                    if &target != module && modules.contains_key(&target) {
                        edges.insert(target);
                    }
                }
            }
        }
    }
    graph
}

/// Strongly connected components of more than one module (Tarjan), each sorted.
fn loops(graph: &Graph) -> Vec<BTreeSet<String>> {
    struct State<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        for w in &s.graph[v] {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.stack.contains(&w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
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
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.out
}

fn describe(graph: &Graph, component: &BTreeSet<String>) -> String {
    component
        .iter()
        .map(|m| {
            let inside: Vec<&str> = graph[m]
                .iter()
                .filter(|t| component.contains(*t))
                .map(String::as_str)
                .collect();
            format!("{m} -> {inside:?}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn the_detector_finds_a_loop_and_no_false_one() {
    let mut g = Graph::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        g.entry(a.into()).or_default().insert(b.into());
        g.entry(b.into()).or_default();
    }
    let found = loops(&g);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].len(), 3);
    assert_eq!(
        targets("use crate::{a, b::C};", "crate::"),
        ["a".to_owned(), "b".to_owned()]
    );
}

#[test]
fn the_api_crate_has_no_import_loops_between_its_modules() {
    let g = graph(&repo().join("api/src"));
    assert!(g.contains_key("routes") && g.contains_key("auth"), "{g:?}");
    let found = loops(&g);
    let text: Vec<String> = found.iter().map(|c| describe(&g, c)).collect();
    assert!(found.is_empty(), "import loops in api/src: {text:?}");
}

/// `core` has no loop either: the entities call `messages::flows` when they change, and
/// `messages` reads what it needs of them with statements of its own (`messages::references`).
#[test]
fn the_core_crate_has_no_import_loops() {
    let g = graph(&repo().join("core/src"));
    assert!(
        g.contains_key("messages") && g.contains_key("tickets"),
        "{g:?}"
    );
    let found = loops(&g);
    let text: Vec<String> = found.iter().map(|c| describe(&g, c)).collect();
    assert!(found.is_empty(), "import loops in core/src: {text:?}");
}
