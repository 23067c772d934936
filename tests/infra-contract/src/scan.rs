//! Source scanning: the environment variables a crate reads and the AWS SDK operations code calls.
//!
//! Conventions relied on (the function crates and `shared/` follow them):
//! - every environment variable a function reads is a `const ENV_…: &str = "NAME"`, in its crate or in
//!   the `shared` settings it uses;
//! - an SDK call is `<client>.operation_name()` in a file that names the SDK crate (`aws_sdk_<service>`);
//! - a function uses a `shared` adapter by naming its type or calling its function; what that code
//!   refers to is pulled in too.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use crate::workspace::SdkOperations;

static ENV_CONST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"const\s+ENV_\w*\s*:\s*&\s*(?:'static\s+)?str\s*=\s*"([^"]+)""#).unwrap()
});
static ENV_CONST_DECL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"const\s+(ENV_\w*)\s*:\s*&\s*(?:'static\s+)?str\s*=\s*"([^"]+)""#).unwrap()
});
static ENV_IDENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bENV_\w+").unwrap());
static SDK_CRATE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\baws_sdk_([a-z0-9]+)").unwrap());
static NO_ARG_CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\.\s*([a-z][a-z0-9_]*)\s*\(\s*\)").unwrap());
// An item `impl [Trait for] Type` at the start of a line (not `x: &impl Trait` in a signature).
static IMPL_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*impl\b(?:\s*<[^{]*?>)?\s+(?:([\w:]+)(?:<[^{]*?>)?\s+for\s+)?&?(?:'\w+\s+)?([A-Za-z_]\w*)").unwrap()
});
static ITEM_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:fn|struct|enum|trait|type|mod)\s+([A-Za-z_]\w*)").unwrap());
// A function item at the start of a line (after impl blocks are cut out, a free function).
static FN_ITEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+([A-Za-z_]\w*)").unwrap()
});
static PUB_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bpub(?:\([^)]*\))?\s+(?:struct|enum|trait|type)\s+([A-Za-z_]\w*)").unwrap()
});
static CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[^.\w])([A-Za-z_]\w*)\s*\(").unwrap());
static PATH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b([A-Za-z_]\w*)::").unwrap());
static USE_DECLARATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:pub(?:\([^)]*\))?\s+)?use\s+[^;]*;").unwrap());
static ASSOCIATED_ITEM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([A-Z]\w*)::[A-Za-z_]\w*").unwrap());
/// Standard types and traits: `impl From<X> for String` is not a reason to pull in every `String` user.
const STD_NAMES: &[&str] = &[
    "String",
    "Vec",
    "Option",
    "Result",
    "Box",
    "Read",
    "Write",
    "Display",
    "Debug",
    "From",
    "Default",
    "Error",
    "Iterator",
    "Clone",
    "PartialEq",
    "Eq",
    "Drop",
    "Deref",
    "FromStr",
    "AsRef",
    "TryFrom",
    "Hash",
    "Ord",
    "PartialOrd",
    "Serialize",
    "Deserialize",
    "Zeroize",
    "ZeroizeOnDrop",
    "Send",
    "Sync",
    "Future",
    "Stream",
];
static TEST_MODULE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*").unwrap());

/// Names of the environment variables declared as `ENV_` constants.
pub fn env_names(source: &str) -> BTreeSet<String> {
    ENV_CONST
        .captures_iter(source)
        .map(|c| c[1].to_string())
        .collect()
}

/// `ENV_` constants declared in `source`: identifier → variable name.
pub fn env_constants(source: &str) -> Vec<(String, String)> {
    ENV_CONST_DECL
        .captures_iter(source)
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect()
}

/// `ENV_` identifiers `source` uses other than in their declarations.
pub fn env_uses(source: &str) -> BTreeSet<String> {
    let without_declarations = ENV_CONST_DECL.replace_all(source, " ");
    ENV_IDENT
        .find_iter(&without_declarations)
        .map(|m| m.as_str().to_string())
        .collect()
}

/// IAM actions (`service:Operation`) of the SDK operations called in `source`.
pub fn sdk_actions(source: &str, operations: &SdkOperations) -> BTreeSet<String> {
    let services: BTreeSet<&str> = SDK_CRATE
        .captures_iter(source)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    let mut actions = BTreeSet::new();
    for call in NO_ARG_CALL.captures_iter(source) {
        let op = &call[1];
        for service in &services {
            if operations.get(*service).is_some_and(|ops| ops.contains(op)) {
                actions.insert(format!("{service}:{}", pascal_case(op)));
            }
        }
    }
    actions
}

/// `get_secret_value` → `GetSecretValue` (IAM actions of these services are named after the operations).
pub fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The code that ships: without `//` comment lines and without `#[cfg(test)] mod … { … }` blocks, whose
/// SDK calls (test fixtures) and words would otherwise count as the function's.
pub fn production_code(source: &str) -> String {
    let mut code = String::with_capacity(source.len());
    let mut cursor = 0;
    for m in TEST_MODULE.find_iter(source) {
        if m.start() < cursor {
            continue;
        }
        let Some(end) = block_end(source, m.end()) else {
            continue;
        };
        code.push_str(&source[cursor..m.start()]);
        cursor = end;
    }
    code.push_str(&source[cursor..]);
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A piece of a source file, pulled in when code already in use refers to it.
#[derive(Debug, Clone, Default)]
pub struct Chunk {
    /// Types it declares or implements: referred to by any mention.
    pub types: BTreeSet<String>,
    /// The free function it is: referred to by a call `name(` (not a method call `.name(`).
    pub functions: BTreeSet<String>,
    /// Its module: referred to by a path `module::`.
    pub module: Option<String>,
    /// The SDK crates its file names, one per line (for service attribution).
    pub sdk_crates: String,
    pub text: String,
    /// Whether what it refers to is in use once it is. Not for implementations of standard traits:
    /// `impl From<Finding> for Notification` does not make every `Notification` user a `Finding` user.
    pub propagates: bool,
}

/// Splits a file's production code into one chunk per `impl` block (named by its type), one per free
/// function (named by the function) and one for the rest (its public types, and its module).
pub fn chunks(module_name: &str, source: &str) -> Vec<Chunk> {
    let source = &production_code(source);
    let sdk_crates: String = SDK_CRATE
        .find_iter(source)
        .map(|m| m.as_str().to_string() + "\n")
        .collect();
    let mut out = Vec::new();
    let mut rest = String::new();
    let mut cursor = 0;
    for header in IMPL_HEADER.captures_iter(source) {
        let start = header.get(0).unwrap().start();
        if start < cursor {
            continue;
        }
        let Some(end) = block_end(source, header.get(0).unwrap().end()) else {
            continue;
        };
        rest.push_str(&source[cursor..start]);
        let ty = header[2].to_string();
        let std_trait = header
            .get(1)
            .is_some_and(|t| STD_NAMES.contains(&t.as_str().rsplit("::").next().unwrap_or("")));
        out.push(Chunk {
            types: if STD_NAMES.contains(&ty.as_str()) {
                BTreeSet::new()
            } else {
                BTreeSet::from([ty])
            },
            propagates: !std_trait,
            sdk_crates: sdk_crates.clone(),
            text: source[start..end].to_string(),
            ..Chunk::default()
        });
        cursor = end;
    }
    rest.push_str(&source[cursor..]);
    // Each free function is its own chunk, reached by a call: using a type declared in the file does not
    // make its functions used.
    let source = rest;
    let mut rest = String::new();
    let mut cursor = 0;
    for header in FN_ITEM.captures_iter(&source) {
        let start = header.get(0).unwrap().start();
        if start < cursor {
            continue;
        }
        let Some(end) = block_end(&source, header.get(0).unwrap().end()) else {
            continue;
        };
        rest.push_str(&source[cursor..start]);
        out.push(Chunk {
            functions: BTreeSet::from([header[1].to_string()]),
            sdk_crates: sdk_crates.clone(),
            text: source[start..end].to_string(),
            propagates: true,
            ..Chunk::default()
        });
        cursor = end;
    }
    rest.push_str(&source[cursor..]);
    out.push(Chunk {
        types: PUB_TYPE
            .captures_iter(&rest)
            .map(|c| c[1].to_string())
            .collect(),
        module: (!module_name.is_empty()).then(|| module_name.to_string()),
        sdk_crates,
        text: rest,
        propagates: true,
        ..Chunk::default()
    });
    out
}

/// Index just past the `}` closing the first `{` at or after `from` (braces in strings balance in practice).
fn block_end(source: &str, from: usize) -> Option<usize> {
    let open = from + source[from..].find('{')?;
    let mut depth = 0usize;
    for (i, ch) in source[open..].char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// What code in use refers to. An import or re-export is not a use (the name appears where it is used),
/// and neither is declaring an item.
#[derive(Debug, Default)]
struct References {
    words: BTreeSet<String>,
    calls: BTreeSet<String>,
    paths: BTreeSet<String>,
}

impl References {
    fn add(&mut self, text: &str) {
        let text = USE_DECLARATION.replace_all(text, " ");
        // `ConfigError::Invalid` names a variant or associated item, not a type called `Invalid`.
        let text = ASSOCIATED_ITEM.replace_all(&text, "$1::");
        let declared: BTreeSet<&str> = ITEM_NAME
            .captures_iter(&text)
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        let words = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty());
        self.words
            .extend(words.filter(|w| !declared.contains(w)).map(str::to_string));
        let calls = CALL.captures_iter(&text).map(|c| c[1].to_string());
        self.calls
            .extend(calls.filter(|n| !declared.contains(n.as_str())));
        // A path segment, not a turbofish method call like `.parse::<u32>()`.
        let segments = PATH.captures_iter(&text).map(|c| c.get(1).unwrap());
        let segments = segments.filter(|m| !text[..m.start()].trim_end().ends_with('.'));
        self.paths.extend(segments.map(|m| m.as_str().to_string()));
    }

    /// The name by which code in use refers to `chunk`, if it does.
    fn refer_to(&self, chunk: &Chunk) -> Option<String> {
        let ty = chunk.types.iter().find(|t| self.words.contains(*t));
        let function = || {
            chunk
                .functions
                .iter()
                .find(|f| self.calls.contains(*f))
                .map(|f| format!("{f}()"))
        };
        let module = || {
            chunk
                .module
                .as_ref()
                .filter(|m| self.paths.contains(*m))
                .map(|m| format!("{m}::"))
        };
        ty.cloned().or_else(function).or_else(module)
    }
}

/// The chunks reachable from `seed` (a function crate's code): a chunk is in use when code in use
/// refers to it; its own text then counts as code in use.
pub fn reachable<'a>(seed: &str, chunks: &'a [Chunk]) -> Vec<&'a Chunk> {
    reachable_by(seed, chunks)
        .into_iter()
        .map(|(c, _)| c)
        .collect()
}

/// [`reachable`] in the order found, with the name each chunk was reached by (explains a surprising action).
pub fn reachable_by<'a>(seed: &str, chunks: &'a [Chunk]) -> Vec<(&'a Chunk, String)> {
    let mut refs = References::default();
    refs.add(seed);
    let mut used = vec![false; chunks.len()];
    let mut order = Vec::new();
    loop {
        let mut grew = false;
        for (i, chunk) in chunks.iter().enumerate() {
            if !used[i]
                && let Some(name) = refs.refer_to(chunk)
            {
                used[i] = true;
                order.push((chunk, name));
                if chunk.propagates {
                    refs.add(&chunk.text);
                }
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    order
}

/// SDK actions called by the given chunks (each attributed to the SDK crates its file names).
pub fn chunk_actions(chunks: &[&Chunk], operations: &SdkOperations) -> BTreeSet<String> {
    chunks
        .iter()
        .flat_map(|c| sdk_actions(&format!("{}{}", c.sdk_crates, c.text), operations))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops() -> SdkOperations {
        SdkOperations::from([
            (
                "secretsmanager".to_string(),
                BTreeSet::from(["get_secret_value".to_string(), "list_secrets".to_string()]),
            ),
            ("sns".to_string(), BTreeSet::from(["publish".to_string()])),
        ])
    }

    #[test]
    fn finds_env_constants() {
        let src = r#"pub const ENV_TOPIC_ARN: &str = "SNOWKEY_TOPIC_ARN";
            const ENV_X: &'static str = "X"; const OTHER: &str = "NOT_ENV";"#;
        assert_eq!(
            env_names(src),
            BTreeSet::from(["SNOWKEY_TOPIC_ARN".to_string(), "X".to_string()])
        );
    }

    #[test]
    fn tells_env_uses_from_declarations() {
        let src =
            r#"pub const ENV_A: &str = "A"; pub const ENV_B: &str = "B"; fn f() { get(ENV_A); }"#;
        assert_eq!(env_constants(src).len(), 2);
        assert_eq!(env_uses(src), BTreeSet::from(["ENV_A".to_string()]));
    }

    #[test]
    fn maps_calls_only_for_the_sdk_crates_a_file_names() {
        let src = "use aws_sdk_secretsmanager::Client;\n self\n  .client\n  .get_secret_value()\n .send(); x.publish();";
        assert_eq!(
            sdk_actions(src, &ops()),
            BTreeSet::from(["secretsmanager:GetSecretValue".to_string()])
        );
    }

    #[test]
    fn ignores_test_modules_and_comments() {
        let src = "fn a() {}\n// x.list_secrets()\n#[cfg(test)]\nmod tests {\n fn t() { c.get_secret_value(); }\n}\nfn b() {}";
        assert_eq!(production_code(src), "fn a() {}\n\nfn b() {}");
    }

    #[test]
    fn follows_adapter_types_from_the_function_code() {
        let file = "use aws_sdk_secretsmanager::Client;\npub struct Store { client: Client }\n\
            impl Store { pub async fn read(&self) { self.client.get_secret_value().send().await; } }\n\
            pub struct Lister;\nimpl Lister { fn all(&self) { self.client.list_secrets().send(); } }\n";
        let all = chunks("store", file);
        let used = reachable("let s = Store::new();", &all);
        assert_eq!(
            chunk_actions(&used, &ops()),
            BTreeSet::from(["secretsmanager:GetSecretValue".to_string()])
        );
    }

    #[test]
    fn method_calls_and_imports_do_not_pull_in_free_functions() {
        let file = "use aws_sdk_secretsmanager::Client;\npub async fn parse(c: &Client) { c.list_secrets().send(); }\n";
        let all = chunks("parse", file);
        let seed = "use snowkey_shared::audit::parse;\nfn f() { let n: u8 = s.parse().unwrap(); }";
        assert!(reachable(seed, &all).is_empty());
        assert_eq!(reachable("fn f() { parse(&c); }", &all).len(), 1);
        assert_eq!(
            reachable("fn f() { audit::parse::other(); }", &all).len(),
            1
        );
    }
}
