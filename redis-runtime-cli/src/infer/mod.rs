//! `infer`: suggests declarations for a keyspace that already exists.
//!
//! It samples a live server (a bounded `SCAN`, like doctor; every primary of
//! a cluster), groups the keys into families by shape (literal segments
//! against variable parts: integers, UUIDs, hex strings, and words that vary
//! from key to key), reads each family's Redis type, TTLs and, for a few of
//! its keys, the values (JSON, MessagePack, integers, hash field sets,
//! members), and prints Rust declarations with the inferred key templates,
//! plus what it could not decide. Nothing is written to the server.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use redis_runtime::Config;
use redis_runtime::redis::{self, aio::MultiplexedConnection};
use serde::{Deserialize, Serialize};

use crate::doctor::DoctorError;

/// How much `infer` samples.
#[derive(Debug, Clone)]
pub struct InferOptions {
    /// Stop after this many keys (default 10 000).
    pub max_keys: usize,
    /// Stop after this long (default 5 s).
    pub max_time: Duration,
    /// Only keys matching this glob (default `*`).
    pub pattern: String,
    /// Values read per family (default 20).
    pub values_per_family: usize,
}

impl Default for InferOptions {
    fn default() -> Self {
        InferOptions {
            max_keys: 10_000,
            max_time: Duration::from_secs(5),
            pattern: "*".to_owned(),
            values_per_family: 20,
        }
    }
}

/// What `infer` found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InferReport {
    /// The schema version of the JSON form.
    pub version: u32,
    /// Keys looked at.
    pub keys_scanned: u64,
    /// Whether the scan reached the end (else a bound stopped it).
    pub complete: bool,
    /// The families, largest first.
    pub families: Vec<InferredFamily>,
}

/// One family of keys of one shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InferredFamily {
    /// The suggested key template (`user:{user}:profile`).
    pub template: String,
    /// What separates its segments: `:`, `/` or `.`.
    pub separator: String,
    /// The suggested declaration's name.
    pub name: String,
    /// Keys of this shape in the sample.
    pub keys: u64,
    /// Up to three of them.
    pub examples: Vec<String>,
    /// The placeholders, in template order: name and Rust type.
    pub placeholders: Vec<(String, String)>,
    /// The hash-tagged placeholder, if the keys carry a `{...}` tag.
    pub hash_tag: Option<String>,
    /// The Redis types seen (`TYPE`), by count.
    pub redis_types: BTreeMap<String, u64>,
    /// How the values are stored: `hash`, `json`, `msgpack`, `counter`,
    /// `plain`, `bytes`, `set`, `sorted_set`, `list`, `stream`, or `mixed`.
    pub encoding: String,
    /// Keys sampled without a TTL.
    pub without_ttl: u64,
    /// The shortest and longest TTL left, in ms, of those with one.
    pub ttl_range_ms: Option<(u64, u64)>,
    /// Fields (hash fields or JSON object fields) and their Rust types.
    pub fields: Vec<(String, String)>,
    /// Set, sorted set and list elements' Rust type.
    pub element_type: Option<String>,
    /// The suggested Rust declaration, when one can be written.
    pub declaration: Option<String>,
    /// What it could not decide, and why.
    pub undecided: Vec<String>,
}

impl InferReport {
    /// The JSON form's schema version.
    pub const VERSION: u32 = 1;

    /// As pretty-printed JSON.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).unwrap_or_default();
        json.push('\n');
        json
    }

    /// The suggestions as one Rust source file: every declaration, and
    /// what could not be decided as comments.
    pub fn to_rust(&self) -> String {
        let mut out = String::from(
            "// Suggested by `redis-runtime infer`: check every template, type and TTL\n\
             // before adopting it.\n\n",
        );
        for family in &self.families {
            let _ = writeln!(
                out,
                "// {} keys like `{}`",
                family.keys,
                family.examples.first().map_or("", String::as_str)
            );
            for undecided in &family.undecided {
                let _ = writeln!(out, "// undecided: {undecided}");
            }
            match &family.declaration {
                Some(declaration) => {
                    out.push_str(declaration);
                    out.push('\n');
                }
                None => out.push_str("// (no declaration)\n\n"),
            }
        }
        out
    }

    /// As text: a summary table, then the Rust suggestions.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} keys sampled{}",
            self.keys_scanned,
            if self.complete {
                " (all)"
            } else {
                " (stopped by a bound)"
            }
        );
        for f in &self.families {
            let ttl = match f.ttl_range_ms {
                Some((lo, hi)) => format!("ttl {}–{} s", lo / 1000, hi / 1000),
                None => "no ttl".to_owned(),
            };
            let _ = writeln!(
                out,
                "  {:40} {:>7} keys  {:10} {} ({} without)",
                f.template, f.keys, f.encoding, ttl, f.without_ttl
            );
        }
        out.push('\n');
        out.push_str(&self.to_rust());
        out
    }

    /// Whether some family could not be fully decided.
    pub fn has_undecided(&self) -> bool {
        self.families.iter().any(|f| !f.undecided.is_empty())
    }
}

/// One segment of a key, classified.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Int,
    Uuid,
    Hex,
    Word(String),
}

impl Part {
    fn of(segment: &str) -> Part {
        let b = segment.as_bytes();
        if !b.is_empty() && b.len() <= 19 && b.iter().all(u8::is_ascii_digit) {
            return Part::Int;
        }
        if b.len() == 36
            && b.iter().enumerate().all(|(i, c)| {
                if matches!(i, 8 | 13 | 18 | 23) {
                    *c == b'-'
                } else {
                    c.is_ascii_hexdigit()
                }
            })
        {
            return Part::Uuid;
        }
        if b.len() >= 12
            && b.iter().all(u8::is_ascii_hexdigit)
            && b.iter().any(u8::is_ascii_digit)
            && b.iter().any(u8::is_ascii_alphabetic)
        {
            return Part::Hex;
        }
        Part::Word(segment.to_owned())
    }

    fn rust_type(&self) -> &'static str {
        match self {
            Part::Int => "u64",
            // A `uuid::Uuid` is a key part too (the runtime's `uuid` feature).
            Part::Uuid | Part::Hex | Part::Word(_) => "String",
        }
    }
}

/// A key split into segments: its separator and parts, and which segment
/// was a `{...}` hash tag.
struct Shape {
    separator: Option<char>,
    parts: Vec<Part>,
    tagged: Option<usize>,
}

fn shape_of(key: &str) -> Shape {
    let separator = [':', '/', '.'].into_iter().find(|s| key.contains(*s));
    let segments: Vec<&str> = match separator {
        Some(s) => key.split(s).collect(),
        None => vec![key],
    };
    let mut tagged = None;
    let parts = segments
        .iter()
        .enumerate()
        .map(
            |(i, seg)| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(inner) if !inner.is_empty() => {
                    tagged = Some(i);
                    match Part::of(inner) {
                        Part::Word(_) => Part::Word(format!("{{{inner}}}")),
                        other => other,
                    }
                }
                _ => Part::of(seg),
            },
        )
        .collect();
    Shape {
        separator,
        parts,
        tagged,
    }
}

/// A family being formed: its pattern (a literal or a variable per
/// position) and its keys.
struct Group {
    separator: Option<char>,
    pattern: Vec<Option<Part>>,
    tagged: Option<usize>,
    keys: Vec<String>,
}

/// Whether the words at a position vary from key to key (a placeholder)
/// rather than being a handful of literals.
fn varies(distinct: usize, keys: usize) -> bool {
    (keys >= 3 && distinct == keys) || (distinct > 5 && distinct * 2 > keys)
}

/// A key's separator, its parts' classes (`None` for a word) and its
/// tagged segment.
type Signature = (Option<char>, Vec<Option<Part>>, Option<usize>);

/// Splits keys into families by shape.
fn group(keys: Vec<String>) -> Vec<Group> {
    // First by separator, segment count and the classes of the parts (words
    // as one class).
    let mut first: BTreeMap<Signature, Vec<String>> = BTreeMap::new();
    for key in keys {
        let shape = shape_of(&key);
        let classes = shape
            .parts
            .iter()
            .map(|p| match p {
                Part::Word(_) => None,
                other => Some(other.clone()),
            })
            .collect();
        first
            .entry((shape.separator, classes, shape.tagged))
            .or_default()
            .push(key);
    }
    let mut done = Vec::new();
    for ((separator, classes, tagged), keys) in first {
        let pattern = classes
            .into_iter()
            .map(|c| c.or(Some(Part::Word(String::new()))))
            .collect();
        refine(
            Group {
                separator,
                pattern,
                tagged,
                keys,
            },
            &mut done,
        );
    }
    // SCAN's order changes from server to server: sorted, the examples and
    // the sampled values do not.
    for g in &mut done {
        g.keys.sort();
    }
    done.sort_by(|a, b| b.keys.len().cmp(&a.keys.len()).then(a.keys.cmp(&b.keys)));
    done
}

/// Decides each undecided word position of `g` (marked `Word("")`): a
/// placeholder when its values vary, else a literal per value (splitting
/// the group).
fn refine(mut g: Group, done: &mut Vec<Group>) {
    let Some(at) = g
        .pattern
        .iter()
        .position(|p| matches!(p, Some(Part::Word(w)) if w.is_empty()))
    else {
        done.push(g);
        return;
    };
    let word = |key: &str| -> String {
        match shape_of(key).parts.get(at) {
            Some(Part::Word(w)) => w.clone(),
            _ => String::new(),
        }
    };
    let values: BTreeSet<String> = g.keys.iter().map(|k| word(k)).collect();
    if values.len() > 1 && varies(values.len(), g.keys.len()) {
        g.pattern[at] = None;
        refine(g, done);
        return;
    }
    let mut by_value: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for key in g.keys {
        by_value.entry(word(&key)).or_default().push(key);
    }
    for (value, keys) in by_value {
        let mut pattern = g.pattern.clone();
        pattern[at] = Some(Part::Word(value));
        refine(
            Group {
                separator: g.separator,
                pattern,
                tagged: g.tagged,
                keys,
            },
            done,
        );
    }
}

/// Literals a template may hold as they are.
fn valid_literal(text: &str, separator: char) -> bool {
    !text.is_empty() && valid_text(text, separator)
}

/// Whether `text` (possibly empty) is literal text a template separated by
/// `separator` may hold, as the derive checks it.
fn valid_text(text: &str, separator: char) -> bool {
    text.chars().all(|c| {
        c != separator
            && (c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '_' | '-' | '.' | '/' | '=' | '@' | '+' | ',' | '~' | '|' | '#'
                ))
    })
}

/// The literal text every value starts and ends with, when there is some
/// (`room=` of `room=r1`, `room=r2`; `.json` of `7.json`, `8.json`): a
/// prefix ends with, and a suffix starts with, a character that is not a
/// letter or digit, and at least one character is left in every value.
fn affixes(values: &[&str], separator: char) -> (String, String) {
    let Some(first) = values.first() else {
        return (String::new(), String::new());
    };
    let mut prefix = first.len();
    let mut suffix = first.len();
    for v in values {
        prefix = prefix.min(
            first
                .bytes()
                .zip(v.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
        suffix = suffix.min(
            first
                .bytes()
                .rev()
                .zip(v.bytes().rev())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    let cut_prefix = first.as_bytes()[..prefix]
        .iter()
        .rposition(|b| !b.is_ascii_alphanumeric())
        .map_or(0, |i| i + 1);
    let tail = &first.as_bytes()[first.len() - suffix..];
    let cut_suffix = tail
        .iter()
        .position(|b| !b.is_ascii_alphanumeric())
        .map_or(0, |i| suffix - i);
    let shortest = values.iter().map(|v| v.len()).min().unwrap_or(0);
    let (p, s) = (&first[..cut_prefix], &first[first.len() - cut_suffix..]);
    if p.len() + s.len() >= shortest
        || !valid_text(p, separator)
        || !valid_text(s, separator)
        || !first.is_char_boundary(cut_prefix)
    {
        return (String::new(), String::new());
    }
    (p.to_owned(), s.to_owned())
}

fn camel(text: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

fn snake(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_matches('_').to_owned();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("f_{s}")
    } else {
        s
    }
}

/// Samples the server (every primary of a cluster) and infers families.
pub async fn infer(config: &Config, options: &InferOptions) -> Result<InferReport, DoctorError> {
    let (mut first, address) = crate::doctor::connect_any(config).await?;
    let started = Instant::now();
    let mut connections = Vec::new();
    let nodes = if config.is_cluster() || is_cluster(&mut first).await {
        crate::doctor::cluster::discover(&mut first, &address, false).await
    } else {
        None
    };
    match nodes {
        Some(nodes) if !nodes.is_empty() => {
            for node in nodes.iter().filter(|n| n.primary) {
                let info = crate::doctor::cluster::node_info(config.connection_info(), node);
                connections.push(crate::doctor::connect(config, &info).await?);
            }
        }
        _ => connections.push(first),
    }
    let mut keys = Vec::new();
    let mut complete = true;
    'nodes: for con in &mut connections {
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&options.pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(con)
                .await
                .map_err(crate::doctor::failed("SCAN", &address))?;
            for key in batch {
                // Keys that are not text are not templates' keys.
                if let Ok(key) = String::from_utf8(key) {
                    keys.push((keys.len(), key));
                }
            }
            if keys.len() >= options.max_keys || started.elapsed() >= options.max_time {
                complete = next == 0 && keys.len() <= options.max_keys;
                keys.truncate(options.max_keys);
                break 'nodes;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    let scanned = keys.len() as u64;
    let groups = group(keys.into_iter().map(|(_, k)| k).collect());
    let mut families = Vec::new();
    let mut names = BTreeSet::new();
    for g in groups {
        families.push(describe(&mut connections, g, options, &mut names).await);
    }
    Ok(InferReport {
        version: InferReport::VERSION,
        keys_scanned: scanned,
        complete,
        families,
    })
}

async fn is_cluster(con: &mut MultiplexedConnection) -> bool {
    let info: Result<String, _> = redis::cmd("INFO").arg("cluster").query_async(con).await;
    info.is_ok_and(|text| text.contains("cluster_enabled:1"))
}

/// Reads a family's keys and values and writes its suggestion.
async fn describe(
    connections: &mut [MultiplexedConnection],
    g: Group,
    options: &InferOptions,
    names: &mut BTreeSet<String>,
) -> InferredFamily {
    let mut undecided = Vec::new();
    // The template.
    let sep = g.separator.unwrap_or(':');
    let mut template = String::new();
    let mut placeholders: Vec<(String, String)> = Vec::new();
    let mut hash_tag = None;
    let mut literals = Vec::new();
    for (i, part) in g.pattern.iter().enumerate() {
        if i > 0 {
            template.push(sep);
        }
        match part {
            Some(Part::Word(w)) => {
                let literal = w.trim_start_matches('{').trim_end_matches('}');
                if !valid_literal(literal, sep) {
                    undecided.push(format!(
                        "the literal `{w}` has characters a template literal cannot hold (`A-Z a-z 0-9 _ - . / = @ + , ~ | #`, not the separator)"
                    ));
                }
                template.push_str(w);
                literals.push(literal.to_owned());
            }
            other => {
                // Literal text every value of this position shares
                // (`room=` of `room=r1`), unless it is the hash tag.
                let values: Vec<&str> = g.keys.iter().filter_map(|k| k.split(sep).nth(i)).collect();
                let (prefix, suffix) = if g.tagged == Some(i) {
                    (String::new(), String::new())
                } else {
                    affixes(&values, sep)
                };
                let mut other = other.clone();
                if !prefix.is_empty() || !suffix.is_empty() {
                    let middles = values
                        .iter()
                        .map(|v| Part::of(&v[prefix.len()..v.len() - suffix.len()]));
                    let mut classes: Vec<Part> = middles
                        .map(|p| match p {
                            Part::Word(_) => Part::Word(String::new()),
                            p => p,
                        })
                        .collect();
                    classes.dedup();
                    other = match classes.as_slice() {
                        [one] => Some(one.clone()),
                        _ => None,
                    };
                }
                let named = prefix.trim_matches(|c: char| !c.is_ascii_alphanumeric());
                let base = if named.is_empty() {
                    literals
                        .last()
                        .map_or_else(|| "id".to_owned(), |l| snake(l))
                } else {
                    snake(named)
                };
                let mut name = base.clone();
                let mut n = 2;
                while placeholders.iter().any(|(p, _)| *p == name) {
                    name = format!("{base}{n}");
                    n += 1;
                }
                let ty = other.as_ref().map_or("String", Part::rust_type);
                if g.tagged == Some(i) {
                    hash_tag = Some(name.clone());
                }
                let _ = write!(template, "{prefix}{{{name}}}{suffix}");
                placeholders.push((name, ty.to_owned()));
            }
        }
    }
    let mut base = camel(&literals.join("_"));
    if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
        base = format!("Family{base}");
    }
    let mut name = base.clone();
    let mut n = 2;
    while !names.insert(name.clone()) {
        name = format!("{base}{n}");
        n += 1;
    }

    // Types, TTLs and values of a sample of the keys.
    let sample: Vec<&String> = g.keys.iter().take(options.values_per_family).collect();
    let mut redis_types: BTreeMap<String, u64> = BTreeMap::new();
    let mut without_ttl = 0;
    let mut ttls = Vec::new();
    let mut values = Values::default();
    for key in &sample {
        let (kind, ttl) = match probe(connections, key).await {
            Some(probe) => probe,
            None => continue,
        };
        *redis_types.entry(kind.clone()).or_default() += 1;
        match ttl {
            t if t < 0 => without_ttl += 1,
            t => ttls.push(u64::try_from(t).unwrap_or(0)),
        }
        values.read(connections, key, &kind).await;
    }
    let encoding = if redis_types.len() > 1 {
        undecided.push(format!("its keys hold different types: {redis_types:?}"));
        "mixed".to_owned()
    } else {
        values.encoding(redis_types.keys().next().map_or("", String::as_str))
    };
    let ttl_range_ms = match (ttls.iter().min(), ttls.iter().max()) {
        (Some(lo), Some(hi)) => Some((*lo, *hi)),
        _ => None,
    };
    if without_ttl > 0 && !ttls.is_empty() {
        undecided.push(format!(
            "{without_ttl} of {} sampled keys have no TTL while the others do: a leak, or two families in one shape",
            sample.len()
        ));
    }
    let fields = values.fields();
    if encoding == "hash" {
        for (p, _) in &placeholders {
            if !values.hash_fields.contains_key(p) {
                undecided.push(format!(
                    "its hashes do not hold the key part `{p}` as a field, which a hash model stores and reads: add it to the stored hashes, or declare the family by hand"
                ));
            }
        }
    }
    let element_type = values.element_type();
    let mut family = InferredFamily {
        template,
        separator: sep.to_string(),
        name,
        keys: g.keys.len() as u64,
        examples: g.keys.iter().take(3).cloned().collect(),
        placeholders,
        hash_tag,
        redis_types,
        encoding,
        without_ttl,
        ttl_range_ms,
        fields,
        element_type,
        declaration: None,
        undecided,
    };
    family.declaration = declaration(&family);
    family
}

/// `TYPE` and `PTTL` of `key` on whichever node holds it.
async fn probe(connections: &mut [MultiplexedConnection], key: &str) -> Option<(String, i64)> {
    for con in connections.iter_mut() {
        let mut pipe = redis::pipe();
        pipe.cmd("TYPE").arg(key).cmd("PTTL").arg(key);
        if let Ok((kind, ttl)) = pipe.query_async::<(String, i64)>(con).await
            && kind != "none"
        {
            return Some((kind, ttl));
        }
    }
    None
}

/// What the sampled values look like.
#[derive(Default)]
struct Values {
    strings: u64,
    json: u64,
    msgpack: u64,
    integers: u64,
    utf8: u64,
    /// JSON object or hash fields: the type of every value seen, and how
    /// many of the sampled values had the field.
    object_fields: BTreeMap<String, (BTreeSet<&'static str>, u64)>,
    objects: u64,
    hash_fields: BTreeMap<String, (BTreeSet<&'static str>, u64)>,
    hashes: u64,
    elements: BTreeSet<&'static str>,
}

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(n) if n.is_u64() => "u64",
        serde_json::Value::Number(n) if n.is_i64() => "i64",
        serde_json::Value::Number(_) => "f64",
        serde_json::Value::String(_) => "String",
        _ => "serde_json::Value",
    }
}

fn text_type(text: &str) -> &'static str {
    if text.parse::<u64>().is_ok() {
        "u64"
    } else if text.parse::<i64>().is_ok() {
        "i64"
    } else if text.parse::<f64>().is_ok() && text.contains('.') {
        "f64"
    } else if text == "true" || text == "false" {
        "bool"
    } else if (text.starts_with('{') || text.starts_with('['))
        && serde_json::from_str::<serde_json::Value>(text).is_ok()
    {
        "json"
    } else {
        "String"
    }
}

/// One Rust type for a field's values: the widest integer, or `String`.
fn merge_types(types: &BTreeSet<&'static str>) -> String {
    let types: BTreeSet<&str> = types.iter().copied().filter(|t| *t != "null").collect();
    let one = |t: &str| types.len() == 1 && types.contains(t);
    if types.is_empty() {
        "serde_json::Value".to_owned()
    } else if one("u64") {
        "u64".to_owned()
    } else if types.iter().all(|t| matches!(*t, "u64" | "i64")) {
        "i64".to_owned()
    } else if types.iter().all(|t| matches!(*t, "u64" | "i64" | "f64")) {
        "f64".to_owned()
    } else if one("bool") {
        "bool".to_owned()
    } else if one("json") || one("serde_json::Value") {
        "serde_json::Value".to_owned()
    } else {
        "String".to_owned()
    }
}

impl Values {
    async fn read(&mut self, connections: &mut [MultiplexedConnection], key: &str, kind: &str) {
        for con in connections.iter_mut() {
            let found = match kind {
                "string" => {
                    let Ok(Some(raw)) = redis::cmd("GET")
                        .arg(key)
                        .query_async::<Option<Vec<u8>>>(con)
                        .await
                    else {
                        continue;
                    };
                    self.string(&raw);
                    true
                }
                "hash" => {
                    let Ok(map) = redis::cmd("HGETALL")
                        .arg(key)
                        .query_async::<BTreeMap<String, String>>(con)
                        .await
                    else {
                        continue;
                    };
                    if map.is_empty() {
                        continue;
                    }
                    self.hashes += 1;
                    for (field, value) in map {
                        let entry = self.hash_fields.entry(field).or_default();
                        entry.0.insert(text_type(&value));
                        entry.1 += 1;
                    }
                    true
                }
                "set" | "zset" | "list" => {
                    let cmd = match kind {
                        "set" => redis::cmd("SRANDMEMBER").arg(key).arg(10).to_owned(),
                        "zset" => redis::cmd("ZRANGE").arg(key).arg(0).arg(9).to_owned(),
                        _ => redis::cmd("LRANGE").arg(key).arg(0).arg(9).to_owned(),
                    };
                    let Ok(members) = cmd.query_async::<Vec<String>>(con).await else {
                        continue;
                    };
                    for member in &members {
                        self.elements.insert(text_type(member));
                    }
                    !members.is_empty()
                }
                _ => true,
            };
            if found {
                return;
            }
        }
    }

    fn string(&mut self, raw: &[u8]) {
        self.strings += 1;
        if let Ok(text) = std::str::from_utf8(raw) {
            self.utf8 += 1;
            if text.parse::<i64>().is_ok() {
                self.integers += 1;
                return;
            }
            if let Ok(serde_json::Value::Object(map)) =
                serde_json::from_str::<serde_json::Value>(text)
            {
                self.json += 1;
                self.object(map);
                return;
            }
        }
        // MessagePack: a map (struct as map) or an array.
        if matches!(raw.first(), Some(0x80..=0x9f | 0xdc..=0xdf))
            && let Ok(value) = rmp_serde::from_slice::<serde_json::Value>(raw)
        {
            self.msgpack += 1;
            if let serde_json::Value::Object(map) = value {
                self.object(map);
            }
        }
    }

    fn object(&mut self, map: serde_json::Map<String, serde_json::Value>) {
        self.objects += 1;
        for (field, value) in map {
            let entry = self.object_fields.entry(field).or_default();
            entry.0.insert(json_type(&value));
            entry.1 += 1;
        }
    }

    fn encoding(&self, redis_type: &str) -> String {
        match redis_type {
            "string" if self.strings > 0 && self.integers == self.strings => "counter",
            "string" if self.strings > 0 && self.json == self.strings => "json",
            "string" if self.strings > 0 && self.msgpack == self.strings => "msgpack",
            "string" if self.utf8 == self.strings => "plain",
            "string" => "bytes",
            "hash" => "hash",
            "set" => "set",
            "zset" => "sorted_set",
            "list" => "list",
            "stream" => "stream",
            other => other,
        }
        .to_owned()
    }

    fn fields(&self) -> Vec<(String, String)> {
        let (fields, total) = if self.hashes > 0 {
            (&self.hash_fields, self.hashes)
        } else {
            (&self.object_fields, self.objects)
        };
        fields
            .iter()
            .map(|(name, (types, seen))| {
                let ty = merge_types(types);
                let optional = *seen < total || types.contains("null");
                let ty = if optional {
                    format!("Option<{ty}>")
                } else {
                    ty
                };
                (name.clone(), ty)
            })
            .collect()
    }

    fn element_type(&self) -> Option<String> {
        if self.elements.is_empty() {
            None
        } else {
            Some(match merge_types(&self.elements).as_str() {
                "u64" => "u64".to_owned(),
                "i64" => "i64".to_owned(),
                _ => "String".to_owned(),
            })
        }
    }
}

/// The largest TTL seen, rounded up to a whole unit, as a `ttl` attribute.
fn ttl_attr(family: &InferredFamily) -> String {
    let Some((_, hi)) = family.ttl_range_ms else {
        return String::new();
    };
    let s = hi.div_ceil(1000).max(1);
    let text = if s.is_multiple_of(86_400) {
        format!("{}d", s / 86_400)
    } else if s >= 86_400 {
        format!("{}d", s.div_ceil(86_400))
    } else if s >= 3600 {
        format!("{}h", s.div_ceil(3600))
    } else if s >= 60 {
        format!("{}m", s.div_ceil(60))
    } else {
        format!("{s}s")
    };
    format!(", ttl = \"{text}\"")
}

/// The suggested Rust declaration, or `None` when it cannot be written.
fn declaration(f: &InferredFamily) -> Option<String> {
    if f.undecided
        .iter()
        .any(|u| u.contains("literal") || u.contains("different types"))
    {
        return None;
    }
    let separator = match f.separator.as_str() {
        ":" => String::new(),
        other => format!(", separator = \"{other}\""),
    };
    let tag = f
        .hash_tag
        .as_ref()
        .map(|t| format!("{separator}, hash_tag = \"{t}\""))
        .unwrap_or(separator);
    let ttl = ttl_attr(f);
    let key_fields: String = f
        .placeholders
        .iter()
        .map(|(n, t)| format!("    pub {n}: {t},\n"))
        .collect();
    let template = &f.template;
    let name = &f.name;
    let value_fields = |skip_keys: bool| -> String {
        f.fields
            .iter()
            .filter(|(n, _)| !(skip_keys && f.placeholders.iter().any(|(p, _)| p == n)))
            .map(|(n, t)| {
                let field = snake(n);
                let rename = if field == *n {
                    String::new()
                } else {
                    format!("    #[redis(rename = \"{n}\")]\n")
                };
                if t.contains("serde_json::Value") {
                    format!("{rename}    #[redis(json)]\n    pub {field}: {t},\n")
                } else {
                    format!("{rename}    pub {field}: {t},\n")
                }
            })
            .collect()
    };
    let serde_fields = || -> String {
        f.fields
            .iter()
            .map(|(n, t)| {
                let field = snake(n);
                let rename = if field == *n {
                    String::new()
                } else {
                    format!("    #[serde(rename = \"{n}\")]\n")
                };
                format!("{rename}    pub {field}: {t},\n")
            })
            .collect()
    };
    Some(match f.encoding.as_str() {
        "hash" => format!(
            "#[derive(Debug, Clone, PartialEq, redis_runtime::RedisModel)]\n\
             #[redis(key = \"{template}\"{tag}{ttl})]\n\
             pub struct {name} {{\n{key_fields}{}}}\n",
            value_fields(true)
        ),
        "json" | "msgpack" => {
            let encoding = &f.encoding;
            format!(
                "#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, redis_runtime::RedisModel)]\n\
                 #[redis(key = \"{template}\", encoding = \"{encoding}\"{tag}{ttl})]\n\
                 pub struct {name} {{\n{}}}\n",
                serde_fields()
            )
        }
        // Plain text or bytes, neither JSON nor MessagePack: stored as is
        // by `codec = raw`, in one value field.
        "plain" | "bytes" => {
            let ty = if f.encoding == "plain" {
                "String"
            } else {
                "Vec<u8>"
            };
            let field = if f.placeholders.iter().any(|(p, _)| p == "value") {
                "stored_value"
            } else {
                "value"
            };
            format!(
                "#[derive(Debug, Clone, PartialEq, redis_runtime::RedisModel)]\n\
                 #[redis(key = \"{template}\", codec = raw{tag}{ttl})]\n\
                 pub struct {name} {{\n{key_fields}    pub {field}: {ty},\n}}\n"
            )
        }
        "counter" => format!(
            "#[derive(redis_runtime::RedisCounter)]\n\
             #[redis(key = \"{template}\"{tag}{ttl})]\n\
             pub struct {name} {{\n{key_fields}}}\n"
        ),
        "set" | "sorted_set" | "list" => {
            let element = f.element_type.as_deref().unwrap_or("String");
            let (derive, elements) = match f.encoding.as_str() {
                "set" => ("RedisSet", format!("member = {element}")),
                "sorted_set" => ("RedisSortedSet", format!("member = {element}, score = f64")),
                _ => ("RedisList", "item = serde_json::Value".to_owned()),
            };
            format!(
                "#[derive(redis_runtime::{derive})]\n\
                 #[redis(key = \"{template}\", {elements}{tag}{ttl})]\n\
                 pub struct {name} {{\n{key_fields}}}\n"
            )
        }
        "stream" => format!(
            "#[derive(redis_runtime::RedisStream)]\n\
             #[redis(key = \"{template}\", event = serde_json::Value{tag}{ttl})]\n\
             pub struct {name} {{\n{key_fields}}}\n"
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates(keys: &[&str]) -> Vec<(Option<char>, Vec<Option<Part>>, usize)> {
        group(keys.iter().map(|k| (*k).to_owned()).collect())
            .into_iter()
            .map(|g| (g.separator, g.pattern, g.keys.len()))
            .collect()
    }

    #[test]
    fn shapes_group_into_families() {
        let mut keys = Vec::new();
        for i in 0..20 {
            keys.push(format!("user:{i}:profile"));
            keys.push(format!("user:{i}:settings"));
            keys.push(format!("session:tok{i}x{}", i * 7));
            keys.push(format!("game/{i}/state"));
        }
        keys.push("config:global".to_owned());
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let found = templates(&refs);
        let word = |w: &str| Some(Part::Word(w.to_owned()));
        assert!(
            found.contains(&(
                Some(':'),
                vec![word("user"), Some(Part::Int), word("profile")],
                20
            )),
            "{found:?}"
        );
        assert!(found.contains(&(
            Some(':'),
            vec![word("user"), Some(Part::Int), word("settings")],
            20
        )));
        assert!(found.contains(&(Some(':'), vec![word("session"), None], 20)));
        assert!(found.contains(&(
            Some('/'),
            vec![word("game"), Some(Part::Int), word("state")],
            20
        )));
        assert!(found.contains(&(Some(':'), vec![word("config"), word("global")], 1)));
    }

    #[test]
    fn parts_are_classified() {
        assert_eq!(Part::of("123"), Part::Int);
        assert_eq!(Part::of("6f1c2a0e-8b7d-4c3e-9f00-1234567890ab"), Part::Uuid);
        assert_eq!(Part::of("deadbeef0123"), Part::Hex);
        assert_eq!(Part::of("profile"), Part::Word("profile".into()));
        assert_eq!(Part::of("deadbeef"), Part::Word("deadbeef".into()));
    }
}
