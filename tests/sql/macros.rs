//! Just enough of `macro_rules!` to expand our SQL macros: reading a macro's arms, matching
//! a call's tokens against an arm's pattern, substituting what bound into its body; and the
//! token helpers the scanner shares.

use std::collections::HashMap;

use super::lex::{Kind, Token};

/// One `(pattern) => { body }` rule of a macro.
pub struct Arm {
    pub pattern: Vec<Token>,
    pub body: Vec<Token>,
}

/// The index of the bracket closing the one opened at `open`.
pub fn matching(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.kind {
            Kind::Open(_) => depth += 1,
            Kind::Close(_) => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    tokens.len() - 1
}

pub fn is_punct(t: Option<&Token>, c: char) -> bool {
    t.is_some_and(|t| t.kind == Kind::Punct(c))
}

pub fn is_open(t: Option<&Token>) -> bool {
    t.is_some_and(|t| matches!(t.kind, Kind::Open(_)))
}

pub fn ident(t: Option<&Token>) -> Option<&str> {
    match t.map(|t| &t.kind) {
        Some(Kind::Ident(s)) => Some(s),
        _ => None,
    }
}

/// Splits at the commas outside brackets (a trailing comma is dropped).
pub fn split_commas(tokens: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            Kind::Open(_) => depth += 1,
            Kind::Close(_) => depth -= 1,
            Kind::Punct(',') if depth == 0 => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < tokens.len() {
        parts.push(&tokens[start..]);
    }
    parts
}

/// The arms `(pattern) => { body };` of a `macro_rules!` body.
pub fn arms(tokens: &[Token]) -> Vec<Arm> {
    let mut arms = Vec::new();
    let mut i = 0;
    while i < tokens.len() && is_open(tokens.get(i)) {
        let p_end = matching(tokens, i);
        let b_start = p_end + 3; // `=>` then the body's bracket
        if !is_open(tokens.get(b_start)) {
            break;
        }
        let b_end = matching(tokens, b_start);
        arms.push(Arm {
            pattern: tokens[i + 1..p_end].to_vec(),
            body: tokens[b_start + 1..b_end].to_vec(),
        });
        i = b_end + 1;
        if is_punct(tokens.get(i), ';') {
            i += 1;
        }
    }
    arms
}

/// Matches `args` against a `macro_rules` pattern: `$x:frag` binds one literal, identifier
/// or token tree (`expr`, `ty`, `path`: up to the pattern's next token); `$($x:tt)+` binds
/// whatever is left.
pub fn bind(pattern: &[Token], args: &[Token]) -> Option<HashMap<String, Vec<Token>>> {
    let mut bound = HashMap::new();
    let (mut i, mut j) = (0, 0);
    while i < pattern.len() {
        if is_punct(pattern.get(i), '$') {
            if is_open(pattern.get(i + 1)) {
                let close = matching(pattern, i + 1);
                let name = ident(pattern.get(i + 3))?.to_owned();
                bound.insert(name, args[j.min(args.len())..].to_vec());
                j = args.len();
                i = close + 2;
                continue;
            }
            let name = ident(pattern.get(i + 1))?.to_owned();
            let frag = ident(pattern.get(i + 3))?;
            let end = match frag {
                "literal" | "ident" | "lifetime" => j + 1,
                "tt" if is_open(args.get(j)) => matching(args, j) + 1,
                "tt" => j + 1,
                _ => {
                    let stop = pattern.get(i + 4).map(|t| &t.kind);
                    let mut k = j;
                    while k < args.len() && Some(&args[k].kind) != stop {
                        k = if is_open(args.get(k)) {
                            matching(args, k) + 1
                        } else {
                            k + 1
                        };
                    }
                    k
                }
            };
            if end > args.len() || end == j {
                return None;
            }
            bound.insert(name, args[j..end].to_vec());
            i += 4;
            j = end;
        } else {
            if args.get(j).map(|t| &t.kind) != Some(&pattern[i].kind) {
                return None;
            }
            i += 1;
            j += 1;
        }
    }
    // A trailing comma in the call is allowed.
    (j == args.len() || (j + 1 == args.len() && is_punct(args.get(j), ','))).then_some(bound)
}

/// `body` with `$x` and `$($x)+` replaced by what they bound and `$crate` by `crate`.
pub fn substitute(body: &[Token], bound: &HashMap<String, Vec<Token>>, line: usize) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        if is_punct(body.get(i), '$') {
            if is_open(body.get(i + 1)) {
                let close = matching(body, i + 1);
                out.extend(substitute(&body[i + 2..close], bound, line));
                i = close + 1;
                // The repetition's operator, after an optional separator.
                if is_punct(body.get(i), '+') || is_punct(body.get(i), '*') {
                    i += 1;
                } else if is_punct(body.get(i + 1), '+') || is_punct(body.get(i + 1), '*') {
                    i += 2;
                }
                continue;
            }
            if let Some(name) = ident(body.get(i + 1)) {
                match bound.get(name) {
                    Some(tokens) => out.extend(tokens.iter().cloned()),
                    None => out.push(Token {
                        kind: Kind::Ident(name.to_owned()),
                        line,
                    }),
                }
                i += 2;
                continue;
            }
        }
        out.push(Token {
            kind: body[i].kind.clone(),
            line,
        });
        i += 1;
    }
    out
}
