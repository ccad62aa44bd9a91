//! Which files to scan, and where each sits: its package, its crate and its
//! module path, computed from the file layout the way Cargo lays out targets.

use std::collections::HashMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

use super::AuditError;

/// A crate: the package directory and the target inside it (`src`,
/// `bin:NAME`, `tests:NAME`, `tests:*` for module directories shared by
/// several test crates, `examples:NAME`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct CrateKey {
    pub(crate) package_root: PathBuf,
    pub(crate) target: String,
}

impl CrateKey {
    /// The key of the crate whose unknown modules may live in a shared
    /// directory (`tests/common/mod.rs` is part of every test crate).
    pub(crate) fn shared(&self) -> Option<CrateKey> {
        let (kind, name) = self.target.split_once(':')?;
        (name != "*").then(|| CrateKey {
            package_root: self.package_root.clone(),
            target: format!("{kind}:*"),
        })
    }
}

/// A Rust file to audit.
#[derive(Clone, Debug)]
pub(crate) struct SourceFile {
    /// The path to read.
    pub(crate) path: PathBuf,
    /// The path as reported: the scanned path as given, joined with the
    /// file's path below it, with `/` separators.
    pub(crate) display: String,
    /// The path relative to the scanned directory (what `--allow` globs
    /// match, besides `display`).
    pub(crate) relative: String,
    /// The crate the file belongs to.
    pub(crate) krate: CrateKey,
    /// The file's module path inside its crate (empty for a crate root).
    pub(crate) module: Vec<String>,
    /// The crate's name as other code would write it (`my_service`).
    pub(crate) crate_name: String,
    /// The name of the Cargo package, if the file is inside one.
    pub(crate) package: Option<String>,
    /// Dependencies the package's manifest renames, as `(name in code,
    /// crate's name)`: `myredis = { package = "redis" }` gives `("myredis",
    /// "redis")`.
    pub(crate) renames: Vec<(String, String)>,
}

/// Find every `.rs` file under `paths`, skipping `target/` and hidden
/// directories, in a stable order.
pub(crate) fn discover(paths: &[PathBuf]) -> Result<Vec<SourceFile>, AuditError> {
    let mut packages = PackageCache::default();
    let mut files = Vec::new();
    for arg in paths {
        let meta = fs::metadata(arg).map_err(|source| AuditError::Io {
            path: arg.clone(),
            source,
        })?;
        let shown = display_arg(arg);
        if meta.is_file() {
            let relative = arg
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push(packages.locate(arg, shown, relative)?);
            continue;
        }
        let walker = walkdir::WalkDir::new(arg)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| entry.depth() == 0 || !is_skipped(entry));
        for entry in walker {
            let entry = entry.map_err(|err| AuditError::Io {
                path: err.path().unwrap_or(arg).to_path_buf(),
                source: err.into(),
            })?;
            if !entry.file_type().is_file()
                || entry.path().extension().is_none_or(|ext| ext != "rs")
            {
                continue;
            }
            let relative = slash_path(entry.path().strip_prefix(arg).unwrap_or(entry.path()));
            let display = if shown.is_empty() {
                relative.clone()
            } else {
                format!("{shown}/{relative}")
            };
            files.push(packages.locate(entry.path(), display, relative)?);
        }
    }
    files.sort_by(|a, b| a.display.cmp(&b.display));
    files.dedup_by(|a, b| a.display == b.display);
    Ok(files)
}

fn is_skipped(entry: &walkdir::DirEntry) -> bool {
    let name = entry.file_name().to_string_lossy();
    entry.file_type().is_dir() && (name.starts_with('.') || name == "target")
}

/// `./examples/` is shown as `examples`, `.` as nothing.
fn display_arg(arg: &Path) -> String {
    let shown = slash_path(arg);
    let shown = shown.trim_end_matches('/');
    let mut shown = shown;
    while let Some(rest) = shown.strip_prefix("./") {
        shown = rest;
    }
    if shown == "." {
        String::new()
    } else {
        shown.to_owned()
    }
}

/// A path with `/` separators, whatever the platform.
pub(crate) fn slash_path(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".to_owned()),
            Component::RootDir => Some(String::new()),
            Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

#[derive(Clone, Debug)]
struct Package {
    root: PathBuf,
    name: Option<String>,
    renames: Vec<(String, String)>,
}

#[derive(Default)]
struct PackageCache {
    by_dir: HashMap<PathBuf, Option<Package>>,
}

impl PackageCache {
    fn locate(
        &mut self,
        path: &Path,
        display: String,
        relative: String,
    ) -> Result<SourceFile, AuditError> {
        let absolute = std::path::absolute(path).map_err(|source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let dir = absolute.parent().unwrap_or(Path::new("/")).to_path_buf();
        let package = self.package_of(&dir);
        let (root, name, renames) = match &package {
            Some(p) => (p.root.clone(), p.name.clone(), p.renames.clone()),
            None => (dir.clone(), None, Vec::new()),
        };
        let inside: Vec<String> = absolute
            .strip_prefix(&root)
            .unwrap_or(&absolute)
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        let (target, crate_name, module) = crate_and_module(&inside, name.as_deref());
        Ok(SourceFile {
            path: path.to_path_buf(),
            display,
            relative,
            krate: CrateKey {
                package_root: root,
                target,
            },
            module,
            crate_name,
            package: name,
            renames,
        })
    }

    fn package_of(&mut self, dir: &Path) -> Option<Package> {
        if let Some(found) = self.by_dir.get(dir) {
            return found.clone();
        }
        let manifest = dir.join("Cargo.toml");
        let found = if manifest.is_file() {
            let text = fs::read_to_string(&manifest).unwrap_or_default();
            Some(Package {
                root: dir.to_path_buf(),
                name: package_name(&text),
                renames: dependency_renames(&text),
            })
        } else {
            dir.parent().and_then(|parent| self.package_of(parent))
        };
        self.by_dir.insert(dir.to_path_buf(), found.clone());
        found
    }
}

/// The `name` of the `[package]` table of a Cargo manifest, read line by
/// line (enough for the manifests Cargo itself accepts in practice).
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() == "name" {
            let value = value.trim().trim_matches('"').trim_matches('\'');
            return Some(value.to_owned());
        }
    }
    None
}

/// Whether a table header names a dependency table: `[dependencies]`,
/// `[dev-dependencies]`, `[build-dependencies]`, or the same under
/// `[target.'cfg(..)'.…]`. Returns the table's own name for the dotted
/// form (`[dependencies.foo]` → `Some(Some("foo"))`).
fn dependency_table(header: &str) -> Option<Option<String>> {
    let inner = header.strip_prefix('[')?.strip_suffix(']')?.trim();
    let inner = match inner.strip_prefix("target.") {
        // `target.'cfg(unix)'.dependencies`: skip the quoted or bare spec.
        Some(rest) => {
            let rest = rest.trim_start();
            let after = match rest.chars().next() {
                Some(q @ ('\'' | '"')) => {
                    let end = rest[1..].find(q)? + 2;
                    &rest[end..]
                }
                _ => &rest[rest.find('.')?..],
            };
            after.strip_prefix('.')?
        }
        None => inner,
    };
    let (table, name) = match inner.split_once('.') {
        Some((table, name)) => (table, Some(name.trim().trim_matches('"').to_owned())),
        None => (inner, None),
    };
    matches!(
        table.trim(),
        "dependencies" | "dev-dependencies" | "build-dependencies"
    )
    .then_some(name)
}

/// The quoted value of `key = "value"` inside an inline table or on a line.
fn quoted_value(text: &str, key: &str) -> Option<String> {
    let mut rest = text;
    while let Some(at) = rest.find(key) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + key.len()..].trim_start();
        rest = &rest[at + key.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-') {
            continue;
        }
        let Some(value) = after.strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let quote = value.chars().next()?;
        if quote != '"' && quote != '\'' {
            return None;
        }
        let end = value[1..].find(quote)?;
        return Some(value[1..=end].to_owned());
    }
    None
}

/// The dependencies a Cargo manifest renames with `package = ".."`, as
/// `(name in code, crate's name)`, in every dependency table (also dev,
/// build and target-specific ones; a rename is valid Rust in whichever
/// target sees it, so all targets get all of them). Read line by line:
/// inline tables on one line, and `[dependencies.name]` tables.
fn dependency_renames(manifest: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    // `Some(None)` in a dependency table, `Some(Some(name))` in a
    // `[dependencies.name]` table.
    let mut table: Option<Option<String>> = None;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            table = dependency_table(line);
            continue;
        }
        let Some(current) = &table else {
            continue;
        };
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().trim_matches('"');
        let (name, package) = match current {
            Some(name) if key == "package" => (name.clone(), quoted_value(line, "package")),
            Some(_) => continue,
            None => (key.to_owned(), quoted_value(value, "package")),
        };
        if let Some(package) = package
            && package != name
        {
            out.push((ident(&name), ident(&package)));
        }
    }
    out
}

fn ident(name: &str) -> String {
    name.replace('-', "_")
}

fn stem(file: &str) -> &str {
    file.strip_suffix(".rs").unwrap_or(file)
}

/// The target, crate name and module path of a file, from its path inside
/// its package (`["src", "store", "mod.rs"]` → `src`, the package, `store`).
fn crate_and_module(inside: &[String], package: Option<&str>) -> (String, String, Vec<String>) {
    let package_crate = package.map(ident).unwrap_or_else(|| "crate".to_owned());
    let parts: Vec<&str> = inside.iter().map(String::as_str).collect();
    match parts.as_slice() {
        ["src", "bin", file] => (format!("bin:{}", stem(file)), ident(stem(file)), Vec::new()),
        ["src", "bin", dir, rest @ ..] => (
            format!("bin:{dir}"),
            ident(dir),
            module_of(rest, &["main.rs"]),
        ),
        ["src", rest @ ..] => (
            "src".to_owned(),
            package_crate,
            module_of(rest, &["lib.rs", "main.rs"]),
        ),
        [kind @ ("tests" | "examples" | "benches"), file] => (
            format!("{kind}:{}", stem(file)),
            ident(stem(file)),
            Vec::new(),
        ),
        [kind @ ("tests" | "examples" | "benches"), dir, rest @ ..] => {
            let has_main = rest == ["main.rs"];
            if has_main {
                (format!("{kind}:{dir}"), ident(dir), Vec::new())
            } else {
                let mut module = vec![ident(dir)];
                module.extend(module_of(rest, &[]));
                (format!("{kind}:*"), format!("{kind}_*"), module)
            }
        }
        [file] => (
            format!("other:{}", stem(file)),
            ident(stem(file)),
            Vec::new(),
        ),
        rest => ("other:*".to_owned(), package_crate, module_of(rest, &[])),
    }
}

/// The module path of a file below a crate's source directory:
/// `a/b.rs` → `a::b`, `a/mod.rs` → `a`, a root file (`lib.rs`) → nothing.
fn module_of(parts: &[&str], roots: &[&str]) -> Vec<String> {
    match parts {
        [] => Vec::new(),
        [file] if roots.contains(file) => Vec::new(),
        _ => {
            let mut module: Vec<String> = parts.iter().map(|p| ident(stem(p))).collect();
            if module.last().is_some_and(|m| m == "mod") {
                module.pop();
            }
            module
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(path: &str) -> (String, String, Vec<String>) {
        let parts: Vec<String> = path.split('/').map(str::to_owned).collect();
        crate_and_module(&parts, Some("my-svc"))
    }

    #[test]
    fn library_modules() {
        assert_eq!(
            layout("src/lib.rs"),
            ("src".into(), "my_svc".into(), vec![])
        );
        assert_eq!(
            layout("src/store/mod.rs"),
            ("src".into(), "my_svc".into(), vec!["store".to_owned()])
        );
        assert_eq!(
            layout("src/store/redis_internal.rs").2,
            vec!["store".to_owned(), "redis_internal".to_owned()]
        );
    }

    #[test]
    fn test_and_example_crates() {
        assert_eq!(
            layout("tests/corrupt.rs"),
            ("tests:corrupt".into(), "corrupt".into(), vec![])
        );
        assert_eq!(layout("tests/common/mod.rs").0, "tests:*");
        assert_eq!(layout("tests/common/mod.rs").2, vec!["common".to_owned()]);
        assert_eq!(layout("examples/chat/main.rs").0, "examples:chat");
        assert_eq!(layout("src/bin/tool.rs").0, "bin:tool");
        assert_eq!(layout("quickstart.rs").0, "other:quickstart");
    }

    #[test]
    fn manifest_name() {
        let manifest = "[workspace]\nmembers = []\n[package]\nname = \"redis-runtime\"\n";
        assert_eq!(package_name(manifest).as_deref(), Some("redis-runtime"));
        assert_eq!(package_name("[workspace]\nname = \"x\"\n"), None);
    }

    #[test]
    fn manifest_renames() {
        let manifest = r#"
[package]
name = "svc"
[dependencies]
myredis = { package = "redis", version = "1" }
serde = { version = "1", features = ["derive"] }
dp = { version = "0.20", package = "deadpool-redis" }
[dependencies.tableredis]
version = "1"
package = "redis"
[dev-dependencies]
testredis = { package = "redis" }
[target.'cfg(unix)'.dependencies]
unixredis = { package = 'redis' }
[target."cfg(windows)".build-dependencies]
winredis = { package = "redis" }
[features]
package = "redis"
"#;
        assert_eq!(
            dependency_renames(manifest),
            [
                ("myredis", "redis"),
                ("dp", "deadpool_redis"),
                ("tableredis", "redis"),
                ("testredis", "redis"),
                ("unixredis", "redis"),
                ("winredis", "redis"),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
    }

    #[test]
    fn shown_paths() {
        assert_eq!(display_arg(Path::new("./examples/")), "examples");
        assert_eq!(display_arg(Path::new(".")), "");
        assert_eq!(display_arg(Path::new("tests/tests")), "tests/tests");
    }
}
