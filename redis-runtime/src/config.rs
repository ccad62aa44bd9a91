//! [`Config`]: the one place Redis is configured.

use std::fmt;
use std::time::Duration;

use redis::IntoConnectionInfo;

use crate::error::{Error, Result};
use crate::key::is_valid_literal;

mod tls;
pub(crate) use tls::Tls;
use tls::TlsFiles;

/// The default server address.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";
/// The default limit on establishing a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default limit on waiting for a reply.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// The default threshold above which an operation is logged at WARN as slow
/// (see [`ConfigBuilder::slow_threshold`]).
pub const DEFAULT_SLOW_THRESHOLD: Duration = Duration::from_millis(100);

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
    /// The server's URL, or the cluster's seed URLs.
    urls: Vec<String>,
    /// What redis-rs connects with, one per URL.
    nodes: Vec<redis::ConnectionInfo>,
    cluster: bool,
    tls: Option<Tls>,
    namespace: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    slow_threshold: Option<Duration>,
    client_cache: ClientCacheSwitch,
}

/// Whether models declared `#[redis(client_cache)]` are cached, and a
/// testing knob.
#[derive(Clone, Copy, Default)]
struct ClientCacheSwitch {
    on: bool,
    ignore_invalidations: bool,
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
    /// | `REDIS_CLUSTER_NODES` | Redis Cluster seed nodes: comma-separated `redis://` or `rediss://` URLs (instead of `REDIS_URL`) | none |
    /// | `REDIS_TLS_CA_FILE` | PEM file of the CA that signed the server's certificate (`rediss://`) | the system's roots |
    /// | `REDIS_TLS_CERT_FILE`, `REDIS_TLS_KEY_FILE` | PEM client certificate and key, for servers with `tls-auth-clients yes` | none |
    /// | `REDIS_NAMESPACE` | prefix of every key, e.g. `app:staging` | none |
    /// | `REDIS_CONNECT_TIMEOUT_MS` | connection limit in milliseconds | 5000 |
    /// | `REDIS_RESPONSE_TIMEOUT_MS` | reply limit in milliseconds | 5000 |
    /// | `REDIS_SLOW_OPERATION_MS` | log operations slower than this at WARN; `off` to never | 100 |
    /// | `REDIS_CLIENT_CACHE` | `on` to cache the models declared `#[redis(client_cache)]` ([`ConfigBuilder::client_cache`]), `off` not to | `off` |
    pub fn from_env() -> Result<Config> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Config::from_env`], reading variables through `lookup`. Every
    /// problem is reported at once, those of the variables and those
    /// [`ConfigBuilder::build`] finds.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let mut builder = Config::builder();
        let url = lookup("REDIS_URL");
        if let Some(url) = &url {
            builder = builder.url(url.clone());
        }
        if let Some(nodes) = lookup("REDIS_CLUSTER_NODES") {
            if url.is_some() {
                builder.problems.push(
                    "set either REDIS_URL (one server) or REDIS_CLUSTER_NODES (a cluster), not both"
                        .to_owned(),
                );
            }
            builder = builder.cluster_nodes(nodes.split(',').map(str::trim));
        }
        builder.tls.ca = lookup("REDIS_TLS_CA_FILE").map(Into::into);
        builder.tls.cert = lookup("REDIS_TLS_CERT_FILE").map(Into::into);
        builder.tls.key = lookup("REDIS_TLS_KEY_FILE").map(Into::into);
        if let Some(ns) = lookup("REDIS_NAMESPACE") {
            builder = builder.namespace(ns);
        }
        if let Some(raw) = lookup("REDIS_SLOW_OPERATION_MS") {
            match raw.trim() {
                "off" => builder.slow_threshold = None,
                ms => match ms.parse::<u64>() {
                    Ok(ms) => builder.slow_threshold = Some(Duration::from_millis(ms)),
                    Err(_) => builder.problems.push(format!(
                        "REDIS_SLOW_OPERATION_MS must be a whole number of milliseconds or `off`, got `{}`",
                        raw.escape_debug()
                    )),
                },
            }
        }
        if let Some(raw) = lookup("REDIS_CLIENT_CACHE") {
            match raw.trim() {
                "on" | "true" | "1" => builder.client_cache.on = true,
                "off" | "false" | "0" => builder.client_cache.on = false,
                _ => builder.problems.push(format!(
                    "REDIS_CLIENT_CACHE must be `on` or `off`, got `{}`",
                    raw.escape_debug()
                )),
            }
        }
        for (var, slot) in [
            ("REDIS_CONNECT_TIMEOUT_MS", &mut builder.connect_timeout),
            ("REDIS_RESPONSE_TIMEOUT_MS", &mut builder.response_timeout),
        ] {
            if let Some(raw) = lookup(var) {
                match raw.trim().parse::<u64>() {
                    Ok(ms) => *slot = Duration::from_millis(ms),
                    Err(_) => builder.problems.push(format!(
                        "{var} must be a whole number of milliseconds, got `{}`",
                        raw.escape_debug()
                    )),
                }
            }
        }
        builder.build()
    }

    /// What redis-rs connects with (for tools that open their own
    /// connection, such as `redis-runtime doctor`): the server, or a
    /// cluster's first seed node.
    pub fn connection_info(&self) -> &redis::ConnectionInfo {
        &self.nodes[0]
    }

    /// Whether this configures a Redis Cluster ([`ConfigBuilder::cluster_nodes`]).
    pub fn is_cluster(&self) -> bool {
        self.cluster
    }

    /// The server, or every seed node of a cluster.
    pub fn nodes(&self) -> &[redis::ConnectionInfo] {
        &self.nodes
    }

    /// The server's address for messages: `host:port` or the socket path,
    /// never credentials; for a cluster, its seed nodes' addresses joined
    /// by `,`.
    pub fn address(&self) -> String {
        let addresses: Vec<String> = self.nodes.iter().map(|n| n.addr().to_string()).collect();
        addresses.join(",")
    }

    /// The key prefix (empty, or ending in `:`).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The TLS files' contents, when given.
    pub(crate) fn tls(&self) -> Option<&Tls> {
        self.tls.as_ref()
    }

    /// The CA and client certificate to connect with, when TLS files were
    /// given (for tools that open their own connections, such as
    /// `redis-runtime doctor`: `redis::Client::build_with_tls`).
    #[cfg(feature = "tls")]
    pub fn tls_certificates(&self) -> Option<redis::TlsCertificates> {
        self.tls.as_ref().map(Tls::certificates)
    }

    /// The limit on establishing a connection.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The limit on waiting for a reply.
    pub fn response_timeout(&self) -> Duration {
        self.response_timeout
    }

    /// The threshold above which an operation is logged at WARN as slow;
    /// `None` when slow operations are not logged.
    pub fn slow_threshold(&self) -> Option<Duration> {
        self.slow_threshold
    }

    /// Whether the models declared `#[redis(client_cache)]` are cached
    /// ([`ConfigBuilder::client_cache`]).
    pub fn client_cache(&self) -> bool {
        self.client_cache.on
    }

    /// Testing only: whether the client cache ignores invalidations.
    pub(crate) fn client_cache_ignores_invalidations(&self) -> bool {
        self.client_cache.ignore_invalidations
    }

    /// The server URL with any password replaced by `***`; for a cluster,
    /// every seed URL so redacted, joined by `,`.
    pub fn redacted_url(&self) -> String {
        let urls: Vec<String> = self.urls.iter().map(|url| redact_url(url)).collect();
        urls.join(",")
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field(
                if self.cluster { "cluster_nodes" } else { "url" },
                &self.redacted_url(),
            )
            .field("tls", &self.tls)
            .field("namespace", &self.namespace)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .finish()
    }
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cluster {
            f.write_str("cluster ")?;
        }
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
    url: Option<String>,
    cluster_nodes: Option<Vec<String>>,
    tls: TlsFiles,
    namespace: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    slow_threshold: Option<Duration>,
    client_cache: ClientCacheSwitch,
    /// Problems found before `build` (in environment variables).
    problems: Vec<String>,
}

impl Default for ConfigBuilder {
    fn default() -> Self {
        ConfigBuilder {
            url: None,
            cluster_nodes: None,
            tls: TlsFiles::default(),
            namespace: String::new(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            slow_threshold: Some(DEFAULT_SLOW_THRESHOLD),
            client_cache: ClientCacheSwitch::default(),
            problems: Vec::new(),
        }
    }
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("url", &self.url.as_deref().map(redact_url))
            .field(
                "cluster_nodes",
                &self
                    .cluster_nodes
                    .as_ref()
                    .map(|nodes| nodes.iter().map(|n| redact_url(n)).collect::<Vec<_>>()),
            )
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// The server URL: `redis://[user[:password]@]host[:port][/db]`,
    /// `rediss://…` (TLS, when enabled in redis-rs) or `redis+unix:///path`.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Connects to a Redis Cluster through these seed nodes (`redis://` or
    /// `rediss://` URLs, with the same credentials and scheme) instead of one
    /// server: the store learns the rest of the cluster from them, routes
    /// every key by its hash slot, and follows slot moves and failovers.
    /// Any one reachable seed is enough. Not to be combined with
    /// [`ConfigBuilder::url`].
    ///
    /// ```
    /// # use redis_runtime::Config;
    /// let config = Config::builder()
    ///     .cluster_nodes(["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"])
    ///     .build()
    ///     .unwrap();
    /// assert!(config.is_cluster());
    /// assert_eq!(config.address(), "10.0.0.1:6379,10.0.0.2:6379");
    /// ```
    pub fn cluster_nodes<I, S>(mut self, nodes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.cluster_nodes = Some(nodes.into_iter().map(Into::into).collect());
        self
    }

    /// The PEM file of the certificate authority that signed the server's
    /// certificate, for `rediss://` URLs (instead of the system's roots).
    /// Needs the `tls` feature.
    pub fn tls_ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.tls.ca = Some(path.into());
        self
    }

    /// A client certificate and its key (PEM files), for servers that
    /// require one (`tls-auth-clients yes`). Needs the `tls` feature.
    pub fn tls_client_cert_files(
        mut self,
        cert: impl Into<std::path::PathBuf>,
        key: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.tls.cert = Some(cert.into());
        self.tls.key = Some(key.into());
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

    /// The threshold above which an operation is logged at WARN (target
    /// `redis_runtime::slow`) with its model, key template, operation,
    /// duration and outcome, never its values, and counted in
    /// `redis_runtime_slow_operations_total`; `None` turns this off
    /// (default [`DEFAULT_SLOW_THRESHOLD`]). A blocking read's own wait
    /// does not count towards it.
    pub fn slow_threshold(mut self, threshold: Option<Duration>) -> Self {
        self.slow_threshold = threshold;
        self
    }

    /// Caches the reads of the models declared `#[redis(client_cache)]` in
    /// the process, kept fresh by the server (RESP3 `CLIENT TRACKING`, on a
    /// second connection the store opens for it); default off, when those
    /// models are read from the server every time.
    /// [`client_cache`](crate::client_cache) says what it guarantees, on
    /// one server and on a Redis Cluster (a tracking connection per
    /// primary).
    pub fn client_cache(mut self, on: bool) -> Self {
        self.client_cache.on = on;
        self
    }

    /// Testing only: a client cache that ignores invalidations (the server's
    /// and its own writes'), to show that a test would catch stale reads.
    #[doc(hidden)]
    pub fn client_cache_ignoring_invalidations(mut self) -> Self {
        self.client_cache = ClientCacheSwitch {
            on: true,
            ignore_invalidations: true,
        };
        self
    }

    /// Validates and builds the configuration.
    pub fn build(self) -> Result<Config> {
        let mut problems = Vec::new();
        let cluster = self.cluster_nodes.is_some();
        let urls = match (self.url, self.cluster_nodes) {
            (Some(_), Some(_)) => {
                problems.push(
                    "set either a URL (one server) or cluster nodes (a cluster), not both"
                        .to_owned(),
                );
                Vec::new()
            }
            (None, Some(nodes)) => {
                if nodes.is_empty() || nodes.iter().all(|n| n.is_empty()) {
                    problems.push("a cluster needs at least one seed node URL".to_owned());
                }
                nodes.into_iter().filter(|n| !n.is_empty()).collect()
            }
            (url, None) => vec![url.unwrap_or_else(|| DEFAULT_URL.to_owned())],
        };
        let mut nodes = Vec::with_capacity(urls.len());
        for url in &urls {
            if let Some(info) = parse_url(url, cluster, &mut problems) {
                nodes.push(info);
            }
        }
        if cluster {
            check_seeds(&urls, &nodes, &mut problems);
        }
        let uses_tls = urls.iter().any(|url| url.starts_with("rediss://"));
        let tls = self.tls.load(uses_tls, &mut problems);
        let namespace = self.namespace.trim_end_matches(':');
        if !namespace.is_empty() && !namespace.split(':').all(is_valid_literal) {
            problems.push(format!(
                "namespace `{namespace}` must be `:`-separated non-empty segments of ASCII letters, digits, `_`, `-` or `.`"
            ));
        }
        problems.extend(self.problems);
        for (name, value) in [
            ("connect timeout", self.connect_timeout),
            ("response timeout", self.response_timeout),
        ] {
            if value.is_zero() {
                problems.push(format!("{name} must be greater than zero"));
            }
        }
        match problems.is_empty() && !nodes.is_empty() {
            true => Ok(Config {
                urls,
                nodes,
                cluster,
                tls,
                namespace: if namespace.is_empty() {
                    String::new()
                } else {
                    format!("{namespace}:")
                },
                connect_timeout: self.connect_timeout,
                response_timeout: self.response_timeout,
                slow_threshold: self.slow_threshold,
                client_cache: self.client_cache,
            }),
            false => Err(Error::Config(problems.join("; "))),
        }
    }
}

/// Parses one URL, adding what is wrong with it to `problems`.
fn parse_url(
    url: &str,
    cluster: bool,
    problems: &mut Vec<String>,
) -> Option<redis::ConnectionInfo> {
    let tcp = url.starts_with("redis://") || url.starts_with("rediss://");
    // redis-rs reads a TCP URL's password from its user-info only: one in
    // the query would be dropped, and the connection made without it.
    if tcp && first_credential_param(url).is_some() {
        problems.push(format!(
            "`{}` has a password in its query, which a redis:// or rediss:// URL ignores; put it in the user-info (redis://user:password@host:port)",
            redact_url(url)
        ));
    }
    if cluster && !tcp {
        problems.push(format!(
            "cluster node `{}` must be a redis:// or rediss:// URL: cluster nodes are reached over TCP",
            redact_url(url)
        ));
        return None;
    }
    match url.into_connection_info() {
        Ok(info) => {
            if cluster && info.redis_settings().db() != 0 {
                problems.push(format!(
                    "cluster node `{}` selects database {}, but a Redis Cluster has only database 0",
                    redact_url(url),
                    info.redis_settings().db()
                ));
            }
            Some(info)
        }
        Err(_) => {
            problems.push(format!(
                "`{}` is not a valid Redis URL (expected redis://host:port, rediss://host:port or redis+unix:///path)",
                redact_url(url)
            ));
            None
        }
    }
}

/// A cluster's seeds are one cluster: the same scheme and credentials.
fn check_seeds(urls: &[String], nodes: &[redis::ConnectionInfo], problems: &mut Vec<String>) {
    let tls = |url: &String| url.starts_with("rediss://");
    if urls.iter().any(tls) && !urls.iter().all(tls) {
        problems.push(
            "cluster nodes mix redis:// and rediss://; use TLS for all of them or for none"
                .to_owned(),
        );
    }
    let credentials = |n: &redis::ConnectionInfo| {
        (
            n.redis_settings().username().map(str::to_owned),
            n.redis_settings().password().map(str::to_owned),
        )
    };
    if let Some(first) = nodes.first()
        && nodes.iter().any(|n| credentials(n) != credentials(first))
    {
        problems.push(
            "cluster nodes carry different user names or passwords; every node of a cluster is reached as the same user".to_owned(),
        );
    }
}

/// Query parameters whose value is a credential.
const CREDENTIAL_PARAMS: [&str; 4] = ["password", "pass", "auth", "token"];
/// Query parameters a credential's value is known to end before: those
/// redis-rs reads, and the credentials themselves.
const KNOWN_PARAMS: [&str; 8] = [
    "password", "pass", "auth", "token", "db", "user", "username", "protocol",
];

/// Replaces every credential in a Redis URL with `***`, by the URL's
/// structure: the password of the user-info (`redis://user:***@host`, or the
/// whole user-info when it has no `:`), and the value of every credential
/// query parameter (`?password=***`, `&pass=***`, for `redis://`,
/// `rediss://`, `redis+unix://` and `unix://` alike).
///
/// Passwords that should have been percent-encoded are the hard case, and the
/// redactor errs towards hiding too much:
/// - the user-info ends at the last `@` before the first credential
///   parameter, wherever a `/`, `?` or `#` in the password would have ended
///   the authority;
/// - a credential parameter's value runs to the next `&` that starts a
///   parameter redis-rs reads (`db`, `user`, `protocol`, ...) or to the end,
///   so an `&`, `#` or `=` inside it stays hidden;
/// - when the only `@` is inside a credential value, what stands before that
///   parameter is the host, unless it cannot be one (a `:` followed by
///   something other than a port), and then it is hidden too.
///
/// A URL is inherently ambiguous when an unencoded password contains a whole
/// `?password=` of its own; that is the one case this cannot tell apart.
pub(crate) fn redact_url(url: &str) -> String {
    let rest_start = url.find("://").map_or(0, |i| i + 3);
    let (scheme, rest) = url.split_at(rest_start);
    let marker = first_credential_param(rest);
    let (head, tail) = rest.split_at(marker.unwrap_or(rest.len()));

    let mut out = String::with_capacity(url.len());
    out.push_str(scheme);
    // (A socket path with an `@` of its own is hidden up to it: too much, never too little.)
    match head.rfind('@') {
        Some(at) => {
            let userinfo = &head[..at];
            match userinfo.split_once(':') {
                Some((user, _)) if is_plain_user(user) => {
                    out.push_str(user);
                    out.push_str(":***");
                }
                _ => out.push_str("***"),
            }
            out.push_str(&head[at..]);
        }
        None if tail.contains('@') && !looks_like_host(head) => match head.split_once(':') {
            Some((host, _)) => {
                out.push_str(host);
                out.push_str(":***");
            }
            None => out.push_str("***"),
        },
        None => out.push_str(head),
    }
    redact_params(tail, &mut out);
    out
}

/// Whether `user` is a user name as a URL can hold it unencoded (unreserved
/// characters, sub-delimiters and `%`-escapes); anything else suggests the
/// password's own characters, and the whole user-info is hidden.
fn is_plain_user(user: &str) -> bool {
    user.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b))
}

/// Whether `text` can be `host[:port][/path][?query]` (no user-info).
fn looks_like_host(text: &str) -> bool {
    let authority = &text[..text.find(['/', '?', '#']).unwrap_or(text.len())];
    match authority.rsplit_once(':') {
        // An IPv6 literal (`[::1]:6379`) or a plain `host:port`.
        Some((host, port)) => {
            (host.starts_with('[') || !host.contains(':'))
                && (port.is_empty() || port.bytes().all(|b| b.is_ascii_digit()))
        }
        None => true,
    }
}

/// Where the first credential parameter starts: the `?` or `&` before it.
fn first_credential_param(text: &str) -> Option<usize> {
    text.match_indices(['?', '&'])
        .map(|(i, _)| i)
        .find(|&i| param_at(text, i + 1, &CREDENTIAL_PARAMS).is_some())
}

/// The name of the parameter `text[at..]` starts with (`name=`), if it is one of `names`.
fn param_at<'a>(text: &'a str, at: usize, names: &[&str]) -> Option<&'a str> {
    let (name, _) = text.get(at..)?.split_once('=')?;
    names
        .iter()
        .any(|known| name.eq_ignore_ascii_case(known))
        .then_some(name)
}

/// Writes `tail` (empty, or starting at a credential parameter's `?`/`&`)
/// with every credential value replaced by `***`.
fn redact_params(tail: &str, out: &mut String) {
    let mut rest = tail;
    while let Some(sep) = rest.chars().next() {
        let name = param_at(rest, 1, &KNOWN_PARAMS).unwrap_or("");
        out.push(sep);
        out.push_str(name);
        out.push('=');
        let value_start = 1 + name.len() + 1;
        // The value ends before the next `&known=`, else at the end.
        let value_end = rest
            .match_indices('&')
            .map(|(i, _)| i)
            .find(|&i| i >= value_start && param_at(rest, i + 1, &KNOWN_PARAMS).is_some())
            .unwrap_or(rest.len());
        let is_credential = CREDENTIAL_PARAMS
            .iter()
            .any(|c| name.eq_ignore_ascii_case(c));
        if is_credential {
            out.push_str("***");
        } else {
            out.push_str(&rest[value_start.min(value_end)..value_end]);
        }
        rest = &rest[value_end..];
    }
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
            assert_eq!(redact_url(url), "redis://user:***@host:6379");
            let err = Config::builder().url(url).build().unwrap_err().to_string();
            assert!(!err.contains("cret"), "{err}");
        }
        // An `@` inside a credential parameter is not the end of a user-info.
        assert_eq!(
            redact_url("redis://host:6379/0?password=PW@SECRET"),
            "redis://host:6379/0?password=***"
        );
        assert_eq!(
            redact_url("redis+unix:///path.sock?pass=PW@SECRET"),
            "redis+unix:///path.sock?pass=***"
        );
        assert_eq!(
            redact_url("unix:///p.sock?db=2&pass=a&b=c#d&user=u&password=x"),
            "unix:///p.sock?db=2&pass=***&user=u&password=***"
        );
        assert_eq!(
            redact_url("redis://u:a?pass=b@host"),
            "redis://u:***?pass=***"
        );
        assert_eq!(redact_url("redis://[::1]:6379/0"), "redis://[::1]:6379/0");
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
    }
}
