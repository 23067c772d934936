//! A small SQL tokenizer: enough to split a batch on `;` and to report Snowflake-style positions.

use super::SqlError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// An unquoted word, folded to uppercase (identifiers and keywords alike).
    Word(String),
    /// A double-quoted identifier, case kept, `""` unescaped.
    Quoted(String),
    /// A single-quoted string literal, unescaped.
    Str(String),
    Number(String),
    Symbol(char),
    Semicolon,
    Eof,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    /// The source text, for "unexpected '…'" messages.
    pub raw: String,
    /// 1-based line and 0-based position within it, as Snowflake reports them.
    pub line: usize,
    pub col: usize,
}

impl Token {
    pub fn syntax_error(&self) -> SqlError {
        SqlError::syntax(self.line, self.col, &self.raw)
    }
}

/// Splits `text` into tokens; the last token is always `Eof`.
pub fn tokenize(text: &str) -> Result<Vec<Token>, SqlError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1usize, 0usize);
    // Advances over `n` chars keeping line/col right.
    let advance = |i: &mut usize, line: &mut usize, col: &mut usize, n: usize| {
        for _ in 0..n {
            if chars.get(*i) == Some(&'\n') {
                *line += 1;
                *col = 0;
            } else {
                *col += 1;
            }
            *i += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let (start_line, start_col, start) = (line, col, i);
        if c.is_whitespace() {
            advance(&mut i, &mut line, &mut col, 1);
            continue;
        }
        if (c == '-' && next == Some('-')) || (c == '/' && next == Some('/')) {
            while i < chars.len() && chars[i] != '\n' {
                advance(&mut i, &mut line, &mut col, 1);
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            advance(&mut i, &mut line, &mut col, 2);
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                advance(&mut i, &mut line, &mut col, 1);
            }
            if i >= chars.len() {
                return Err(SqlError::syntax(line, col, "<EOF>"));
            }
            advance(&mut i, &mut line, &mut col, 2);
            continue;
        }
        let tok = if c.is_alphabetic() || c == '_' {
            let mut end = i;
            while end < chars.len()
                && (chars[end].is_alphanumeric() || chars[end] == '_' || chars[end] == '$')
            {
                end += 1;
            }
            let word: String = chars[i..end].iter().collect();
            advance(&mut i, &mut line, &mut col, end - start);
            Tok::Word(word.to_uppercase())
        } else if c == '"' || c == '\'' {
            let value =
                read_quoted(&chars, i, c).ok_or_else(|| SqlError::syntax(line, col, "<EOF>"))?;
            advance(&mut i, &mut line, &mut col, value.1 - start);
            if c == '"' {
                Tok::Quoted(value.0)
            } else {
                Tok::Str(value.0)
            }
        } else if c.is_ascii_digit() {
            let mut end = i;
            while end < chars.len() && (chars[end].is_ascii_digit() || chars[end] == '.') {
                end += 1;
            }
            let n: String = chars[i..end].iter().collect();
            advance(&mut i, &mut line, &mut col, end - start);
            Tok::Number(n)
        } else {
            advance(&mut i, &mut line, &mut col, 1);
            if c == ';' {
                Tok::Semicolon
            } else {
                Tok::Symbol(c)
            }
        };
        out.push(Token {
            tok,
            raw: chars[start..i].iter().collect(),
            line: start_line,
            col: start_col,
        });
    }
    out.push(Token {
        tok: Tok::Eof,
        raw: "<EOF>".into(),
        line,
        col,
    });
    Ok(out)
}

/// Reads a quoted run starting at `start` (the opening quote). Returns the unescaped value and
/// the index just past the closing quote. Doubled quotes escape; in strings, so does a backslash.
fn read_quoted(chars: &[char], start: usize, quote: char) -> Option<(String, usize)> {
    let mut value = String::new();
    let mut i = start + 1;
    loop {
        let c = *chars.get(i)?;
        if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                value.push(quote);
                i += 2;
                continue;
            }
            return Some((value, i + 1));
        }
        if quote == '\'' && c == '\\' {
            let escaped = *chars.get(i + 1)?;
            value.push(match escaped {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '0' => '\0',
                other => other,
            });
            i += 2;
            continue;
        }
        value.push(c);
        i += 1;
    }
}

/// Splits the tokens into statements on `;`, dropping empty ones; each ends with an `Eof`.
pub fn split_statements(tokens: Vec<Token>) -> Vec<Vec<Token>> {
    let mut statements = Vec::new();
    let mut current: Vec<Token> = Vec::new();
    for token in tokens {
        match token.tok {
            Tok::Semicolon | Tok::Eof => {
                if !current.is_empty() {
                    current.push(Token {
                        tok: Tok::Eof,
                        raw: "<EOF>".into(),
                        line: token.line,
                        col: token.col,
                    });
                    statements.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(token),
        }
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn words_fold_and_quotes_keep_case() {
        assert_eq!(
            toks(r#"alter "My""User" 'it''s'"#),
            vec![
                Tok::Word("ALTER".into()),
                Tok::Quoted("My\"User".into()),
                Tok::Str("it's".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn positions_are_line_and_column() {
        let t = tokenize("select\n  foo").unwrap();
        assert_eq!((t[1].line, t[1].col), (2, 2));
    }

    #[test]
    fn batches_split_on_semicolons_outside_quotes() {
        let parts = split_statements(tokenize("a 'x;y'; b;;").unwrap());
        assert_eq!(parts.len(), 2);
        assert!(tokenize("'open").is_err());
    }
}
