//! The allowlist: path globs and module paths whose violations are not
//! counted, plus the framework's own packages.

use std::path::Path;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::AuditError;
use super::layout::SourceFile;

/// The packages whose code is the framework itself: raw Redis access is
/// their job, so they are exempt unless `--no-default-allow` is given.
pub const EXEMPT_PACKAGES: &[&str] = &["redis-runtime", "redis-derive", "redis-runtime-cli"];

/// The allowlist file read from the current directory when `--config` is
/// not given.
pub const DEFAULT_ALLOW_FILE: &str = ".redis-audit-allow";

/// Compiled allowlist patterns.
#[derive(Debug)]
pub struct Allowlist {
    globs: GlobSet,
    modules: Vec<Vec<String>>,
    exempt_framework: bool,
}

impl Allowlist {
    /// Compile `patterns`. A pattern containing `::` is a module path
    /// (`crate::redis_internal`, `my_service::store::*`, `crate::**::tests`):
    /// it allows that module, item or function and everything inside it;
    /// `*` stands for one path segment and `**` for any number. Any other
    /// pattern is a path glob (`tests/corrupt.rs`, `**/seed_*.rs`): `*` does
    /// not cross `/`, `**` does, and a pattern that names a directory allows
    /// everything below it.
    pub fn new(patterns: &[String], exempt_framework: bool) -> Result<Allowlist, AuditError> {
        let mut globs = GlobSetBuilder::new();
        let mut modules = Vec::new();
        for raw in patterns {
            let pattern = raw.trim();
            if pattern.is_empty() {
                continue;
            }
            if pattern.contains("::") {
                let segments: Vec<String> = pattern.split("::").map(str::to_owned).collect();
                if segments.iter().any(|s| s.is_empty()) {
                    return Err(AuditError::BadPattern {
                        pattern: raw.clone(),
                        message: "empty module path segment".to_owned(),
                    });
                }
                modules.push(segments);
                continue;
            }
            let pattern = pattern.trim_start_matches("./").trim_end_matches('/');
            for glob in [pattern.to_owned(), format!("{pattern}/**")] {
                let glob = GlobBuilder::new(&glob)
                    .literal_separator(true)
                    .build()
                    .map_err(|err| AuditError::BadPattern {
                        pattern: raw.clone(),
                        message: err.kind().to_string(),
                    })?;
                globs.add(glob);
            }
        }
        let globs = globs.build().map_err(|err| AuditError::BadPattern {
            pattern: patterns.join(", "),
            message: err.to_string(),
        })?;
        Ok(Allowlist {
            globs,
            modules,
            exempt_framework,
        })
    }

    /// Whether a violation in `file`, inside the item `item_path`
    /// (`crate::a::Type::method`), is allowed.
    pub(crate) fn allows(&self, file: &SourceFile, item_path: &str) -> bool {
        if self.exempt_framework
            && file
                .package
                .as_deref()
                .is_some_and(|p| EXEMPT_PACKAGES.contains(&p))
        {
            return true;
        }
        if self.globs.is_match(&file.relative) || self.globs.is_match(&file.display) {
            return true;
        }
        let item: Vec<&str> = item_path.split("::").collect();
        let mut named: Vec<&str> = vec![file.crate_name.as_str()];
        named.extend(item.iter().skip(1));
        self.modules
            .iter()
            .any(|pattern| module_matches(pattern, &item) || module_matches(pattern, &named))
    }
}

/// Whether `pattern` matches `path` or a prefix of it.
fn module_matches(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => true,
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| module_matches(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((head, tail)) if first == "*" || first == head => module_matches(rest, tail),
            _ => false,
        },
    }
}

/// Read allowlist patterns from a file: one pattern a line, `#` starts a
/// comment, blank lines are ignored.
pub fn read_allow_file(path: &Path) -> Result<Vec<String>, AuditError> {
    let text = std::fs::read_to_string(path).map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text
        .lines()
        .map(|line| {
            line.split_once('#')
                .map_or(line, |(before, _)| before)
                .trim()
        })
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<String> {
        p.split("::").map(str::to_owned).collect()
    }

    #[test]
    fn module_patterns() {
        let item = ["crate", "store", "redis_internal", "Raw", "get"];
        assert!(module_matches(&path("crate::store"), &item));
        assert!(module_matches(&path("crate::store::redis_internal"), &item));
        assert!(module_matches(&path("crate::*::redis_internal"), &item));
        assert!(module_matches(&path("crate::**::Raw::get"), &item));
        assert!(!module_matches(&path("crate::redis_internal"), &item));
        assert!(!module_matches(&path("crate::store::redis"), &item));
    }
}
