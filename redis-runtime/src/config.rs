//! [`Config`]: the one place Redis is configured.

use std::fmt;
use std::time::Duration;

use redis::IntoConnectionInfo;

use crate::error::{Error, Result};
use crate::key::is_valid_literal;

/// The default server address.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";
/// The default limit on establishing a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default limit on waiting for a reply.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How to reach Redis and how keys are laid out. Validated when built.
///
/// The password never appears in `Debug`, `Display`, logs or errors:
///
/// ```
/// # use redis_runtime::Config;
/// let config = Config::builder()
///     .url("redis://app:hunter2@127.0.0.1:6379/0")
///     .namespace("shop:staging")
///     .build()
///     .unwrap();
/// assert_eq!(config.to_string(), "redis://app:***@127.0.0.1:6379/0 (namespace `shop:staging:`)");
/// assert!(!format!("{config:?}").contains("hunter2"));
/// ```
#[derive(Clone)]
pub struct Config {
    url: String,
    pub(crate) connection_info: redis::ConnectionInfo,
    namespace: String,
    connect_timeout: Duration,
    response_timeout: Duration,
}

impl Config {
    /// A builder with the defaults: [`DEFAULT_URL`], no namespace, 5 s timeouts.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Reads the environment:
    ///
    /// | variable | meaning | default |
    /// |---|---|---|
    /// | `REDIS_URL` | `redis://`, `rediss://` or `redis+unix://` URL | [`DEFAULT_URL`] |
    /// | `REDIS_NAMESPACE` | prefix of every key, e.g. `app:staging` | none |
    /// | `REDIS_CONNECT_TIMEOUT_MS` | connection limit in milliseconds | 5000 |
    /// | `REDIS_RESPONSE_TIMEOUT_MS` | reply limit in milliseconds | 5000 |
    pub fn from_env() -> Result<Config> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Config::from_env`], reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let mut builder = Config::builder();
        if let Some(url) = lookup("REDIS_URL") {
            builder = builder.url(url);
        }
        if let Some(ns) = lookup("REDIS_NAMESPACE") {
            builder = builder.namespace(ns);
        }
        for (var, slot) in [
            ("REDIS_CONNECT_TIMEOUT_MS", &mut builder.connect_timeout),
            ("REDIS_RESPONSE_TIMEOUT_MS", &mut builder.response_timeout),
        ] {
            if let Some(raw) = lookup(var) {
                let ms: u64 = raw.trim().parse().map_err(|_| {
                    Error::Config(format!(
                        "{var} must be a whole number of milliseconds, got `{raw}`"
                    ))
                })?;
                *slot = Duration::from_millis(ms);
            }
        }
        builder.build()
    }

    /// The key prefix (empty, or ending in `:`).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The limit on establishing a connection.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The limit on waiting for a reply.
    pub fn response_timeout(&self) -> Duration {
        self.response_timeout
    }

    /// The server URL with any password replaced by `***`.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("url", &self.redacted_url())
            .field("namespace", &self.namespace)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .finish()
    }
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted_url())?;
        if !self.namespace.is_empty() {
            write!(f, " (namespace `{}`)", self.namespace)?;
        }
        Ok(())
    }
}

/// Builds a [`Config`]; [`ConfigBuilder::build`] validates everything at once.
#[derive(Clone)]
pub struct ConfigBuilder {
    url: String,
    namespace: String,
    connect_timeout: Duration,
    response_timeout: Duration,
}

impl Default for ConfigBuilder {
    fn default() -> Self {
        ConfigBuilder {
            url: DEFAULT_URL.to_owned(),
            namespace: String::new(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
        }
    }
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("url", &redact_url(&self.url))
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// The server URL: `redis://[user[:password]@]host[:port][/db]`,
    /// `rediss://…` (TLS, when enabled in redis-rs) or `redis+unix:///path`.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// A prefix for every key, such as `app:staging` (a trailing `:` is added).
    /// Segments use the same characters as key template literals.
    ///
    /// Namespaces are plain prefixes: stores whose namespaces nest (`app` and
    /// `app:doc`) can render the same key from different models, so give
    /// applications sharing a server sibling namespaces (`app:a`, `app:b`).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The limit on establishing a connection (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The limit on waiting for a reply (default 5 s).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Validates and builds the configuration.
    pub fn build(self) -> Result<Config> {
        let mut problems = Vec::new();
        let connection_info = match self.url.as_str().into_connection_info() {
            Ok(info) => Some(info),
            Err(_) => {
                problems.push(format!(
                    "`{}` is not a valid Redis URL (expected redis://host:port, rediss://host:port or redis+unix:///path)",
                    redact_url(&self.url)
                ));
                None
            }
        };
        let namespace = self.namespace.trim_end_matches(':');
        if !namespace.is_empty() && !namespace.split(':').all(is_valid_literal) {
            problems.push(format!(
                "namespace `{namespace}` must be `:`-separated non-empty segments of ASCII letters, digits, `_`, `-` or `.`"
            ));
        }
        for (name, value) in [
            ("connect timeout", self.connect_timeout),
            ("response timeout", self.response_timeout),
        ] {
            if value.is_zero() {
                problems.push(format!("{name} must be greater than zero"));
            }
        }
        match connection_info {
            Some(connection_info) if problems.is_empty() => Ok(Config {
                url: self.url,
                connection_info,
                namespace: if namespace.is_empty() {
                    String::new()
                } else {
                    format!("{namespace}:")
                },
                connect_timeout: self.connect_timeout,
                response_timeout: self.response_timeout,
            }),
            _ => Err(Error::Config(problems.join("; "))),
        }
    }
}

/// Replaces the password of a Redis URL (userinfo or `password=`/`pass=` query) with `***`.
pub(crate) fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = out[authority_start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| authority_start + i);
        if let Some(at) = out[authority_start..authority_end].rfind('@') {
            let userinfo = &out[authority_start..authority_start + at];
            let redacted = match userinfo.find(':') {
                Some(colon) => format!("{}:***", &userinfo[..colon]),
                None => "***".to_owned(),
            };
            out.replace_range(authority_start..authority_start + at, &redacted);
        } else if let Some(at) = out[authority_start..].rfind('@') {
            // An unencoded `/`, `?` or `#` in the password ends the authority
            // early: hide everything up to the last `@` (it may hide the
            // host too, never the password).
            out.replace_range(authority_start..authority_start + at, "***");
        }
    }
    if let Some(query_start) = out.find('?') {
        let (head, query) = out.split_at(query_start + 1);
        let query = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _))
                    if k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("pass") =>
                {
                    format!("{k}=***")
                }
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
        out = format!("{head}{query}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_everywhere_they_can_be() {
        assert_eq!(redact_url("redis://:pw@h:1/0"), "redis://:***@h:1/0");
        assert_eq!(redact_url("redis://u:pw@h"), "redis://u:***@h");
        assert_eq!(redact_url("redis://token@h"), "redis://***@h");
        assert_eq!(redact_url("redis://h:6379"), "redis://h:6379");
        assert_eq!(
            redact_url("redis+unix:///tmp/s.sock?db=1&pass=pw"),
            "redis+unix:///tmp/s.sock?db=1&pass=***"
        );
        assert_eq!(redact_url("redis://u:p@ss@h"), "redis://u:***@h");
        // Unencoded delimiters in the password end the authority early.
        for url in [
            "redis://user:se/cret@host:6379",
            "redis://user:se?cret@host:6379",
            "redis://user:se#cret@host:6379",
        ] {
            assert_eq!(redact_url(url), "redis://***@host:6379");
            let err = Config::builder().url(url).build().unwrap_err().to_string();
            assert!(!err.contains("cret"), "{err}");
        }
    }

    #[test]
    fn reports_every_problem_at_once_without_the_password() {
        let err = Config::builder()
            .url("notaurl://u:secret@host")
            .namespace("bad ns")
            .response_timeout(Duration::ZERO)
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a valid Redis URL"), "{err}");
        assert!(err.contains("namespace `bad ns`"), "{err}");
        assert!(err.contains("response timeout"), "{err}");
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn reads_the_environment() {
        let env = |name: &str| match name {
            "REDIS_URL" => Some("redis://127.0.0.1:7000".to_owned()),
            "REDIS_NAMESPACE" => Some("app:test:".to_owned()),
            "REDIS_RESPONSE_TIMEOUT_MS" => Some("250".to_owned()),
            _ => None,
        };
        let config = Config::from_lookup(env).unwrap();
        assert_eq!(config.namespace(), "app:test:");
        assert_eq!(config.response_timeout(), Duration::from_millis(250));
        assert_eq!(config.connect_timeout(), DEFAULT_CONNECT_TIMEOUT);
        let bad = Config::from_lookup(|n| (n == "REDIS_CONNECT_TIMEOUT_MS").then(|| "soon".into()));
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("REDIS_CONNECT_TIMEOUT_MS")
        );
    }
}
