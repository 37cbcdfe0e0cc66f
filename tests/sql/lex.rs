//! A small Rust lexer, just enough to find SQL in our sources: string literals (`"..."` with
//! escapes, raw `r#"..."#`, byte strings), identifiers, punctuation and bracket pairs, with
//! the line each token starts on. Comments, char literals, lifetimes and numbers are read past.

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A string literal's value (escapes resolved).
    Str(String),
    /// An identifier, keyword or number.
    Ident(String),
    /// One punctuation character; brackets are `Open` / `Close`.
    Punct(char),
    Open(char),
    Close(char),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub line: usize,
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    tokens: Vec<Token>,
    file: &'a str,
}

/// The tokens of one source file (`file` only names it in panics about unreadable input).
pub fn lex(source: &str, file: &str) -> Vec<Token> {
    let mut l = Lexer {
        chars: source.chars().collect(),
        pos: 0,
        line: 1,
        tokens: Vec::new(),
        file,
    };
    l.run();
    l.tokens
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn push(&mut self, kind: Kind, line: usize) {
        self.tokens.push(Token { kind, line });
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            let line = self.line;
            match c {
                c if c.is_whitespace() => {
                    self.bump();
                }
                '/' if self.peek(1) == Some('/') => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                '/' if self.peek(1) == Some('*') => self.block_comment(),
                '"' => {
                    self.bump();
                    let s = self.quoted();
                    self.push(Kind::Str(s), line);
                }
                '\'' => self.char_or_lifetime(),
                c if c.is_alphanumeric() || c == '_' => self.word(line),
                '(' | '[' | '{' => {
                    self.bump();
                    self.push(Kind::Open(c), line);
                }
                ')' | ']' | '}' => {
                    self.bump();
                    self.push(Kind::Close(c), line);
                }
                c => {
                    self.bump();
                    self.push(Kind::Punct(c), line);
                }
            }
        }
    }

    fn block_comment(&mut self) {
        let mut depth = 0;
        while let Some(c) = self.bump() {
            if c == '/' && self.peek(0) == Some('*') {
                self.bump();
                depth += 1;
            } else if c == '*' && self.peek(0) == Some('/') {
                self.bump();
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
        }
    }

    /// An identifier, number, or the prefix of a raw / byte string.
    fn word(&mut self, line: usize) {
        let start = self.pos;
        while self
            .peek(0)
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            self.bump();
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        let next = self.peek(0);
        if (word == "r" || word == "br") && matches!(next, Some('"' | '#')) {
            let s = self.raw();
            self.push(Kind::Str(s), line);
        } else if word == "b" && next == Some('"') {
            self.bump();
            let s = self.quoted();
            self.push(Kind::Str(s), line);
        } else {
            self.push(Kind::Ident(word), line);
        }
    }

    /// `#…#"…"#…#` after the `r`.
    fn raw(&mut self) -> String {
        let mut hashes = 0;
        while self.peek(0) == Some('#') {
            self.bump();
            hashes += 1;
        }
        assert_eq!(self.bump(), Some('"'), "{}: bad raw string", self.file);
        let mut s = String::new();
        loop {
            let Some(c) = self.bump() else {
                panic!("{}:{}: unterminated raw string", self.file, self.line)
            };
            if c == '"' && (0..hashes).all(|i| self.peek(i) == Some('#')) {
                for _ in 0..hashes {
                    self.bump();
                }
                return s;
            }
            s.push(c);
        }
    }

    /// The rest of a `"…"` literal, escapes resolved.
    fn quoted(&mut self) -> String {
        let mut s = String::new();
        loop {
            let Some(c) = self.bump() else {
                panic!("{}:{}: unterminated string", self.file, self.line)
            };
            match c {
                '"' => return s,
                '\\' => match self.bump() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some('r') => s.push('\r'),
                    Some('0') => s.push('\0'),
                    Some('\n') => {
                        while self.peek(0).is_some_and(char::is_whitespace) {
                            self.bump();
                        }
                    }
                    Some('x') => {
                        let hex: String = [self.bump(), self.bump()].iter().flatten().collect();
                        s.push(char::from(u8::from_str_radix(&hex, 16).unwrap_or(b'?')));
                    }
                    Some('u') => {
                        let mut hex = String::new();
                        while let Some(c) = self.bump() {
                            match c {
                                '{' => {}
                                '}' => break,
                                c => hex.push(c),
                            }
                        }
                        let code = u32::from_str_radix(&hex, 16).unwrap_or(0xFFFD);
                        s.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                    }
                    Some(other) => s.push(other),
                    None => {}
                },
                c => s.push(c),
            }
        }
    }

    /// `'a'`, `'\n'`, `'\u{1F600}'` are characters; `'a` is a lifetime or label.
    fn char_or_lifetime(&mut self) {
        self.bump();
        if self.peek(0) == Some('\\') {
            // The backslash and the escaped character, then up to the closing quote.
            self.bump();
            self.bump();
            while self.bump().is_some_and(|c| c != '\'') {}
        } else if self.peek(1) == Some('\'') {
            self.bump();
            self.bump();
        }
        // A lifetime: its name lexes as a word, which is harmless.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(src: &str) -> Vec<String> {
        lex(src, "t.rs")
            .into_iter()
            .filter_map(|t| match t.kind {
                Kind::Str(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn plain_raw_and_escaped_strings_are_read_with_their_values() {
        let src = r####"let a = "x\"y\n"; let b = r#"SELECT "q" FROM t"#; let c = 'z';
            // "not this"
            let d = "one \
                     two"; let e: &'static str = b"\x41";"####;
        assert_eq!(
            strings(src),
            ["x\"y\n", "SELECT \"q\" FROM t", "one two", "A"]
        );
    }

    #[test]
    fn tokens_carry_the_line_they_start_on() {
        let tokens = lex("a\n\n\"s\nt\" b", "t.rs");
        let lines: Vec<usize> = tokens.iter().map(|t| t.line).collect();
        assert_eq!(lines, [1, 3, 4]);
    }
}
