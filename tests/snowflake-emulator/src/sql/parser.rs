//! Recursive-descent parser for the supported statements. Anything else is a syntax error at
//! the first token it cannot place, never a silent success.

use super::SqlError;
use super::lexer::{Tok, Token, split_statements, tokenize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// `ALTER USER [IF EXISTS] u SET RSA_PUBLIC_KEY[_2] = '…' …`; slots are 1 or 2.
    SetKeys {
        if_exists: bool,
        user: String,
        keys: Vec<(u8, String)>,
    },
    /// `ALTER USER [IF EXISTS] u UNSET RSA_PUBLIC_KEY[, RSA_PUBLIC_KEY_2]`.
    UnsetKeys {
        if_exists: bool,
        user: String,
        slots: Vec<u8>,
    },
    /// `DESC[RIBE] USER u`.
    DescribeUser { user: String },
    /// `SELECT CURRENT_USER(), …`.
    SelectContext(Vec<ContextFunction>),
    /// `SHOW USERS [LIKE '…']`.
    ShowUsers { like: Option<String> },
    /// `USE [ROLE|WAREHOUSE|DATABASE|SCHEMA] name`: only allowed inside a multi-statement request.
    Use { object: String, name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Named as Snowflake names the functions.
#[allow(clippy::enum_variant_names)]
pub enum ContextFunction {
    CurrentUser,
    CurrentAccount,
    CurrentRole,
}

impl ContextFunction {
    /// The column name Snowflake gives the expression.
    pub fn column_name(self) -> &'static str {
        match self {
            Self::CurrentUser => "CURRENT_USER()",
            Self::CurrentAccount => "CURRENT_ACCOUNT()",
            Self::CurrentRole => "CURRENT_ROLE()",
        }
    }
}

/// Parses a request's statement text. `desired` is MULTI_STATEMENT_COUNT (0 = any number).
pub fn parse_batch(text: &str, desired: usize) -> Result<Vec<Statement>, SqlError> {
    let tokens = tokenize(text)?;
    let eof = tokens.last().cloned();
    let statements = split_statements(tokens);
    if statements.is_empty() {
        // An empty text fails where Snowflake would look for the first keyword.
        return Err(eof.map_or_else(|| SqlError::syntax(1, 0, "<EOF>"), |t| t.syntax_error()));
    }
    if desired != 0 && statements.len() != desired {
        return Err(SqlError::statement_count(statements.len(), desired));
    }
    statements
        .into_iter()
        .map(|tokens| Parser { tokens, at: 0 }.statement())
        .collect()
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        self.at += 1;
        token
    }

    fn error(&self) -> SqlError {
        self.peek().syntax_error()
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(w) if w == word)
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let found = self.peek_word(word);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect_word(&mut self, word: &str) -> Result<(), SqlError> {
        if self.eat_word(word) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn eat_symbol(&mut self, symbol: char) -> bool {
        let found = self.peek().tok == Tok::Symbol(symbol);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect_symbol(&mut self, symbol: char) -> Result<(), SqlError> {
        if self.eat_symbol(symbol) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn expect_end(&self) -> Result<(), SqlError> {
        if self.peek().tok == Tok::Eof {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// An identifier: unquoted folds to uppercase, quoted keeps its case.
    fn identifier(&mut self) -> Result<String, SqlError> {
        match &self.peek().tok {
            Tok::Word(w) => {
                let w = w.clone();
                self.at += 1;
                Ok(w)
            }
            Tok::Quoted(q) if !q.is_empty() => {
                let q = q.clone();
                self.at += 1;
                Ok(q)
            }
            _ => Err(self.error()),
        }
    }

    fn string(&mut self) -> Result<String, SqlError> {
        match &self.peek().tok {
            Tok::Str(s) => {
                let s = s.clone();
                self.at += 1;
                Ok(s)
            }
            _ => Err(self.error()),
        }
    }

    fn statement(mut self) -> Result<Statement, SqlError> {
        let statement = if self.eat_word("ALTER") {
            self.alter_user()?
        } else if self.eat_word("DESC") || self.eat_word("DESCRIBE") {
            self.expect_word("USER")?;
            Statement::DescribeUser {
                user: self.identifier()?,
            }
        } else if self.eat_word("SELECT") {
            self.select_context()?
        } else if self.eat_word("USE") {
            let object = ["ROLE", "WAREHOUSE", "DATABASE", "SCHEMA"]
                .into_iter()
                .find(|w| self.eat_word(w))
                .unwrap_or("DATABASE");
            Statement::Use {
                object: object.into(),
                name: self.identifier()?,
            }
        } else if self.eat_word("SHOW") {
            self.expect_word("USERS")?;
            let like = if self.eat_word("LIKE") {
                Some(self.string()?)
            } else {
                None
            };
            Statement::ShowUsers { like }
        } else {
            return Err(self.error());
        };
        self.expect_end()?;
        Ok(statement)
    }

    fn alter_user(&mut self) -> Result<Statement, SqlError> {
        self.expect_word("USER")?;
        let if_exists = if self.eat_word("IF") {
            self.expect_word("EXISTS")?;
            true
        } else {
            false
        };
        let user = self.identifier()?;
        if self.eat_word("SET") {
            let mut keys = vec![self.key_assignment()?];
            while self.eat_symbol(',') || matches!(self.peek().tok, Tok::Word(_)) {
                keys.push(self.key_assignment()?);
            }
            Ok(Statement::SetKeys {
                if_exists,
                user,
                keys,
            })
        } else if self.eat_word("UNSET") {
            let mut slots = vec![self.key_property()?];
            while self.eat_symbol(',') {
                slots.push(self.key_property()?);
            }
            Ok(Statement::UnsetKeys {
                if_exists,
                user,
                slots,
            })
        } else {
            Err(self.error())
        }
    }

    fn key_assignment(&mut self) -> Result<(u8, String), SqlError> {
        let slot = self.key_property()?;
        self.expect_symbol('=')?;
        Ok((slot, self.string()?))
    }

    /// `RSA_PUBLIC_KEY` is slot 1, `RSA_PUBLIC_KEY_2` slot 2; other properties are unsupported.
    fn key_property(&mut self) -> Result<u8, SqlError> {
        if self.eat_word("RSA_PUBLIC_KEY") {
            Ok(1)
        } else if self.eat_word("RSA_PUBLIC_KEY_2") {
            Ok(2)
        } else {
            Err(self.error())
        }
    }

    fn select_context(&mut self) -> Result<Statement, SqlError> {
        let mut functions = vec![self.context_function()?];
        while self.eat_symbol(',') {
            functions.push(self.context_function()?);
        }
        Ok(Statement::SelectContext(functions))
    }

    fn context_function(&mut self) -> Result<ContextFunction, SqlError> {
        let function = match &self.peek().tok {
            Tok::Word(w) if w == "CURRENT_USER" => ContextFunction::CurrentUser,
            Tok::Word(w) if w == "CURRENT_ACCOUNT" => ContextFunction::CurrentAccount,
            Tok::Word(w) if w == "CURRENT_ROLE" => ContextFunction::CurrentRole,
            _ => return Err(self.error()),
        };
        self.next();
        self.expect_symbol('(')?;
        self.expect_symbol(')')?;
        Ok(function)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Statement, SqlError> {
        parse_batch(text, 1).map(|mut v| v.remove(0))
    }

    #[test]
    fn alter_user_set_and_unset() {
        assert_eq!(
            one("alter user if exists \"svc\"\"x\" set rsa_public_key_2 = 'AAAA';").unwrap(),
            Statement::SetKeys {
                if_exists: true,
                user: "svc\"x".into(),
                keys: vec![(2, "AAAA".into())]
            }
        );
        assert_eq!(
            one("ALTER USER svc UNSET RSA_PUBLIC_KEY, RSA_PUBLIC_KEY_2").unwrap(),
            Statement::UnsetKeys {
                if_exists: false,
                user: "SVC".into(),
                slots: vec![1, 2]
            }
        );
    }

    #[test]
    fn errors_point_at_the_unexpected_token() {
        let e = one("ALTER USER svc SET PASSWORD = 'x'").unwrap_err();
        assert_eq!(
            e.message,
            "SQL compilation error:\nsyntax error line 1 at position 19 unexpected 'PASSWORD'."
        );
        let e = one("DROP USER x").unwrap_err();
        assert_eq!(
            e.message,
            "SQL compilation error:\nsyntax error line 1 at position 0 unexpected 'DROP'."
        );
        let e = one("select current_user(").unwrap_err();
        assert!(e.message.ends_with("unexpected '<EOF>'."), "{}", e.message);
    }

    #[test]
    fn statement_count_is_checked() {
        let e = parse_batch("select current_user(); select current_role()", 1).unwrap_err();
        assert_eq!(e.code, "000008");
        assert_eq!(
            parse_batch("select current_user(); select current_role();", 2)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            parse_batch("select current_user(); select current_role()", 0)
                .unwrap()
                .len(),
            2
        );
    }
}
