//! Finds every static SQL statement in our sources: string literals, `concat!(...)` of
//! literals, and what our own `macro_rules!` macros expand to (the entities' `columns!()`,
//! `entity!`, `cancel_sql!`, ...), expanded here with a small `macro_rules` matcher. A string
//! counts as a statement when it starts with SELECT, INSERT, UPDATE, DELETE or WITH (upper
//! case, as all our SQL is written); fragments inside `concat!` and macro bodies only count
//! once assembled, and `format!`-like macros (dynamic text, never SQL) are passed over.

use std::path::Path;

use super::lex::{Kind, Token, lex};
use super::macros::{
    Arm, arms, bind, ident, is_open, is_punct, matching, split_commas, substitute,
};

/// One statement and where it is written (a macro's output: where the macro is invoked).
#[derive(Debug, Clone)]
pub struct Statement {
    pub file: String,
    pub line: usize,
    pub sql: String,
}

struct Macro {
    name: String,
    file: usize,
    arms: Vec<Arm>,
}

struct Source {
    path: String,
    tokens: Vec<Token>,
}

/// Macros whose string arguments are text, never SQL.
const TEXT_MACROS: &[&str] = &[
    "format",
    "println",
    "eprintln",
    "print",
    "eprint",
    "write",
    "writeln",
    "panic",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "unreachable",
    "todo",
    "anyhow",
    "bail",
    "info",
    "warn",
    "error",
    "debug",
    "trace",
    "format_args",
    "include_str",
    "env",
];

/// Every statement in the `.rs` files below `root/<dir>` for each of `dirs`.
pub fn statements(root: &Path, dirs: &[&str]) -> Vec<Statement> {
    let mut sources = Vec::new();
    for dir in dirs {
        collect(root, &root.join(dir), &mut sources);
    }
    sources.sort_by(|a, b| a.path.cmp(&b.path));
    let scanner = Scanner::new(sources);
    let mut out = Vec::new();
    for file in 0..scanner.sources.len() {
        scanner.scan(&scanner.sources[file].tokens, file, None, &mut out, 0);
    }
    out
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<Source>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            out.push(Source {
                tokens: lex(&text, &rel),
                path: rel,
            });
        }
    }
}

/// Does `sql` read as a whole statement (not a fragment or prose)?
fn is_statement(sql: &str) -> bool {
    let first = sql.split_whitespace().next().unwrap_or("");
    matches!(first, "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "WITH")
        && sql.split_whitespace().count() > 1
}

struct Scanner {
    sources: Vec<Source>,
    macros: Vec<Macro>,
}

impl Scanner {
    fn new(sources: Vec<Source>) -> Scanner {
        let mut macros = Vec::new();
        for (file, source) in sources.iter().enumerate() {
            let t = &source.tokens;
            for i in 0..t.len() {
                if ident(t.get(i)) == Some("macro_rules") && is_punct(t.get(i + 1), '!') {
                    let name = ident(t.get(i + 2)).unwrap_or_default().to_owned();
                    let close = matching(t, i + 3);
                    macros.push(Macro {
                        name,
                        file,
                        arms: arms(&t[i + 4..close]),
                    });
                }
            }
        }
        Scanner { sources, macros }
    }

    /// The macro `name` as seen from `file`: its own, else the nearest enclosing module's.
    fn find_macro(&self, name: &str, file: usize) -> Option<&Macro> {
        let dir = |f: usize| {
            let p = &self.sources[f].path;
            p[..p.rfind('/').unwrap_or(0)].to_owned()
        };
        let here = dir(file);
        self.macros
            .iter()
            .filter(|m| m.name == name)
            .max_by_key(|m| {
                let there = dir(m.file);
                let shared = if m.file == file {
                    usize::MAX
                } else if here.starts_with(&there) {
                    there.len()
                } else {
                    0
                };
                (shared, std::cmp::Reverse(m.file))
            })
    }

    /// The tokens `name!(args)` expands to (with `line` on every token), if an arm matches.
    fn expand(&self, name: &str, args: &[Token], file: usize, line: usize) -> Option<Vec<Token>> {
        let mac = self.find_macro(name, file)?;
        mac.arms.iter().find_map(|arm| {
            let bound = bind(&arm.pattern, args)?;
            Some(substitute(&arm.body, &bound, line))
        })
    }

    /// The string an expression of literals, `concat!` and our macros evaluates to.
    fn eval(&self, tokens: &[Token], file: usize, depth: usize) -> Option<String> {
        if depth > 32 {
            return None;
        }
        if let [
            Token {
                kind: Kind::Str(s), ..
            },
        ] = tokens
        {
            return Some(s.clone());
        }
        // `path::to::name!(args)`: the name is the identifier before the `!`.
        let bang = tokens.iter().position(|t| t.kind == Kind::Punct('!'))?;
        let head_is_path = tokens[..bang]
            .iter()
            .all(|t| matches!(&t.kind, Kind::Ident(_) | Kind::Punct(':')));
        if !head_is_path
            || !is_open(tokens.get(bang + 1))
            || matching(tokens, bang + 1) + 1 != tokens.len()
        {
            return None;
        }
        let name = ident(tokens.get(bang.checked_sub(1)?))?;
        let args = &tokens[bang + 2..tokens.len() - 1];
        if name == "concat" {
            let mut out = String::new();
            for part in split_commas(args) {
                out.push_str(&self.eval(part, file, depth + 1)?);
            }
            return Some(out);
        }
        let line = tokens[0].line;
        let expanded = self.expand(name, args, file, line)?;
        self.eval(&expanded, file, depth + 1)
    }

    /// Records every statement in `tokens` (of `file`; at `line` when inside a macro call).
    fn scan(
        &self,
        tokens: &[Token],
        file: usize,
        line: Option<usize>,
        out: &mut Vec<Statement>,
        depth: usize,
    ) {
        let mut i = 0;
        while i < tokens.len() {
            let t = &tokens[i];
            let at = line.unwrap_or(t.line);
            if let Some(name) = ident(Some(t))
                && is_punct(tokens.get(i + 1), '!')
            {
                if name == "macro_rules" {
                    i = matching(tokens, i + 3) + 1;
                    continue;
                }
                if is_open(tokens.get(i + 2)) {
                    let close = matching(tokens, i + 2);
                    if TEXT_MACROS.contains(&name) {
                        i = close + 1;
                        continue;
                    }
                    if name == "concat" {
                        if let Some(sql) = self.eval(&tokens[i..=close], file, depth) {
                            self.record(out, file, at, sql);
                        }
                        i = close + 1;
                        continue;
                    }
                    if depth < 32
                        && let Some(expanded) = self.expand(name, &tokens[i + 3..close], file, at)
                    {
                        match self.eval(&expanded, file, depth + 1) {
                            Some(sql) => self.record(out, file, at, sql),
                            None => self.scan(&expanded, file, Some(at), out, depth + 1),
                        }
                        i = close + 1;
                        continue;
                    }
                }
            }
            if let Kind::Str(s) = &t.kind {
                self.record(out, file, at, s.clone());
            }
            i += 1;
        }
    }

    fn record(&self, out: &mut Vec<Statement>, file: usize, line: usize, sql: String) {
        if is_statement(&sql) {
            out.push(Statement {
                file: self.sources[file].path.clone(),
                line,
                sql,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(files: &[(&str, &str)]) -> Vec<(String, usize, String)> {
        let sources = files
            .iter()
            .map(|(path, text)| Source {
                path: (*path).to_owned(),
                tokens: lex(text, path),
            })
            .collect();
        let scanner = Scanner::new(sources);
        let mut out = Vec::new();
        for file in 0..scanner.sources.len() {
            scanner.scan(&scanner.sources[file].tokens, file, None, &mut out, 0);
        }
        out.into_iter().map(|s| (s.file, s.line, s.sql)).collect()
    }

    #[test]
    fn literals_concats_and_our_macros_are_assembled_into_statements() {
        let m = r#"macro_rules! columns { () => { "id, name" }; }
            macro_rules! by_id { ($t:literal, $($c:tt)+) => {
                const X: &str = concat!("SELECT ", $($c)+, " FROM ", $t, " WHERE id = $1");
            }; }
            by_id!("things", columns!());"#;
        let s = r#"fn f() {
            let a = sqlx::query("DELETE FROM things WHERE id = $1");
            let b = sqlx::query_as(concat!("SELECT ", columns!(), " FROM things"));
            let c = format!("SELECT {x} FROM t");
            let d = "Select the right one";
        }"#;
        assert_eq!(
            found(&[("m/mod.rs", m), ("m/s.rs", s)]),
            [
                (
                    "m/mod.rs".into(),
                    5,
                    "SELECT id, name FROM things WHERE id = $1".into()
                ),
                (
                    "m/s.rs".into(),
                    2,
                    "DELETE FROM things WHERE id = $1".into()
                ),
                ("m/s.rs".into(), 3, "SELECT id, name FROM things".into()),
            ]
        );
    }
}
