//! A private `redis-server` for tests and examples (feature `testing`, Unix only).
//!
//! [`RedisServer::start`] spawns a fresh `redis-server` that listens on a unix
//! socket inside its own temporary directory, waits until it answers `PING`,
//! and kills it when the [`RedisServer`] is dropped. Nothing is persisted:
//! RDB snapshots and the append-only file are off unless asked for.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = redis_runtime::testing::RedisServer::start()?;
//! let store = server.store().await?;
//! # drop(store);
//! # Ok(()) }
//! ```
//!
//! The binary is `$REDIS_SERVER_BIN` when set, otherwise `redis-server` found on
//! `PATH`. Startup is synchronous, so the harness works in plain `#[test]`s as
//! well as in `#[tokio::test]`s.
#![cfg(unix)]
#![warn(missing_docs)]

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::{Config, ConfigBuilder, Store};

mod cluster;
mod tls;
pub use cluster::{REDIS_CLI_BIN, RedisCluster, RedisClusterBuilder};
pub use tls::TestCertificates;

/// The environment variable naming the `redis-server` binary to run.
pub const REDIS_SERVER_BIN: &str = "REDIS_SERVER_BIN";

/// How long [`RedisServerBuilder::start`] waits for `PONG` by default.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times a TCP server is respawned on a fresh port when it exits
/// during startup (e.g. because another process took the port).
const TCP_ATTEMPTS: usize = 5;
/// Highest port handed to the server, so that `port + 10000` (the cluster bus)
/// is still a valid port.
const MAX_PORT: u16 = 55_534;
/// Lines of the server log included in [`HarnessError::NotReady`].
const LOG_TAIL_LINES: usize = 20;
/// File in the server's directory that receives its stderr.
const STDERR_FILE: &str = "redis.stderr";
/// Pause between readiness probes.
const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// Limit on one readiness probe (connect, write, read).
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// Why a [`RedisServer`] could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// No `redis-server` binary was found.
    #[error(
        "no redis-server found (searched {searched}); set REDIS_SERVER_BIN to its path or \
         install it (e.g. `apt-get install redis-server`)"
    )]
    NotFound {
        /// Where the binary was looked for.
        searched: String,
    },

    /// The binary was found but could not be run.
    #[error("could not spawn redis-server")]
    Spawn(#[source] io::Error),

    /// The nodes of a [`RedisCluster`] started, but did not form a healthy
    /// cluster in time.
    #[error("the Redis Cluster did not become ready: {reason}")]
    ClusterNotReady {
        /// What was still wrong when the harness gave up.
        reason: String,
    },

    /// The server exited during startup, or did not answer `PING` in time.
    #[error(
        "redis-server did not become ready (it exited, or did not answer PING in time); \
         last lines of its log:\n{log_tail}"
    )]
    NotReady {
        /// The last lines of the server's log file.
        log_tail: String,
    },
}

/// How the server listens.
#[derive(Debug, Clone)]
enum Transport {
    /// A unix socket at this path.
    Unix(PathBuf),
    /// TCP on 127.0.0.1 at this port.
    Tcp(u16),
}

/// Options for a [`RedisServer`]; created by [`RedisServer::builder`].
#[derive(Debug, Clone)]
pub struct RedisServerBuilder {
    tcp: bool,
    appendonly: bool,
    cluster_enabled: bool,
    binary: Option<PathBuf>,
    args: Vec<String>,
    ready_timeout: Duration,
    tls: Option<TestCertificates>,
}

impl Default for RedisServerBuilder {
    fn default() -> Self {
        RedisServerBuilder {
            tcp: false,
            appendonly: false,
            cluster_enabled: false,
            binary: None,
            args: Vec::new(),
            ready_timeout: DEFAULT_READY_TIMEOUT,
            tls: None,
        }
    }
}

impl RedisServerBuilder {
    /// Listens on TCP at `127.0.0.1` on a free port instead of a unix socket.
    ///
    /// The port stays below 55535, so the cluster bus port (`port + 10000`) is
    /// valid too. Use this for cluster nodes, which talk to each other over TCP.
    pub fn tcp(mut self) -> Self {
        self.tcp = true;
        self
    }

    /// Turns the append-only file on (`--appendonly yes`); off by default.
    pub fn appendonly(mut self, enabled: bool) -> Self {
        self.appendonly = enabled;
        self
    }

    /// Also listens for TLS on a free port of 127.0.0.1 with `certificates`'
    /// server certificate ([`RedisServer::tls_url`]); clients may present
    /// their client certificate (`tls-auth-clients optional`; pass
    /// `.arg("--tls-auth-clients").arg("yes")` to require it). The plain
    /// listener stays, for the readiness probe and for admin connections.
    pub fn tls(mut self, certificates: &TestCertificates) -> Self {
        self.tls = Some(certificates.clone());
        self
    }

    /// Runs the server in cluster mode (`--cluster-enabled yes`, with its
    /// `nodes.conf` in the server's temporary directory).
    pub fn cluster_enabled(mut self, enabled: bool) -> Self {
        self.cluster_enabled = enabled;
        self
    }

    /// Appends a raw command-line argument, e.g. `.arg("--maxmemory-policy").arg("allkeys-lru")`.
    ///
    /// Extra arguments come after the harness's own, so they override them.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Runs this binary instead of `$REDIS_SERVER_BIN` or `redis-server` on `PATH`.
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// How long to wait for the server to answer `PING` (default 10 s).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Spawns the server and waits until it answers `PING`.
    pub fn start(self) -> Result<RedisServer, HarnessError> {
        let binary = match &self.binary {
            Some(path) => check_binary(path, &format!("`{}`", path.display()))?,
            None => find_binary()?,
        };
        let dir = tempfile::Builder::new()
            .prefix("redis-runtime-")
            .tempdir()
            .map_err(HarnessError::Spawn)?;
        let attempts = if self.tcp { TCP_ATTEMPTS } else { 1 };
        let mut last_error = None;
        for _ in 0..attempts {
            let transport = if self.tcp {
                Transport::Tcp(free_port().map_err(HarnessError::Spawn)?)
            } else {
                Transport::Unix(dir.path().join("redis.sock"))
            };
            let tls_port = match &self.tls {
                Some(_) => Some(free_port().map_err(HarnessError::Spawn)?),
                None => None,
            };
            let args = self.server_args(dir.path(), &transport, tls_port);
            let log_path = dir.path().join("redis.log");
            let stderr_path = dir.path().join(STDERR_FILE);
            // Each attempt gets a clean log, so the tail describes this attempt.
            let _ = std::fs::remove_file(&log_path);
            let _ = std::fs::remove_file(&stderr_path);
            let mut child = spawn(&binary, &args, &stderr_path)?;
            match wait_ready(&mut child, &transport, self.ready_timeout) {
                Ok(()) => {
                    return Ok(RedisServer {
                        pid: child.id(),
                        child: Some(child),
                        binary,
                        args,
                        transport,
                        tls_port,
                        log_path,
                        ready_timeout: self.ready_timeout,
                        dir,
                    });
                }
                Err(failure) => {
                    kill(&mut child);
                    let log_tail = read_log_tail(&log_path);
                    let retry =
                        failure == Failure::Exited || log_tail.contains("Address already in use");
                    last_error = Some(HarnessError::NotReady { log_tail });
                    if !retry {
                        break;
                    }
                }
            }
        }
        Err(last_error.unwrap_or_else(|| HarnessError::NotReady {
            log_tail: String::from("(the server was never started)"),
        }))
    }

    /// The full argument list for one spawn.
    fn server_args(&self, dir: &Path, transport: &Transport, tls_port: Option<u16>) -> Vec<String> {
        let dir_str = dir.display().to_string();
        let mut args: Vec<String> = Vec::new();
        match transport {
            Transport::Unix(socket) => {
                args.extend(["--port".into(), "0".into()]);
                args.extend(["--unixsocket".into(), socket.display().to_string()]);
                args.extend(["--unixsocketperm".into(), "700".into()]);
            }
            Transport::Tcp(port) => {
                args.extend(["--port".into(), port.to_string()]);
                args.extend(["--bind".into(), "127.0.0.1".into()]);
            }
        }
        args.extend(["--save".into(), String::new()]);
        let appendonly = if self.appendonly { "yes" } else { "no" };
        args.extend(["--appendonly".into(), appendonly.into()]);
        args.extend(["--dir".into(), dir_str]);
        args.extend([
            "--logfile".into(),
            dir.join("redis.log").display().to_string(),
        ]);
        args.extend(["--daemonize".into(), "no".into()]);
        // Read by a cluster's reaper (see `RedisCluster`), which kills what a
        // test process that exits without dropping its cluster leaves behind.
        args.extend([
            "--pidfile".into(),
            dir.join("redis.pid").display().to_string(),
        ]);
        args.extend(["--maxmemory".into(), "512mb".into()]);
        // `DEBUG SET-ACTIVE-EXPIRE 0` lets a test keep expired keys in memory
        // until something reads them (Redis 7 refuses DEBUG by default);
        // `local`: only from loopback and the unix socket.
        args.extend(["--enable-debug-command".into(), "local".into()]);
        if let (Some(certificates), Some(port)) = (&self.tls, tls_port) {
            args.extend(["--tls-port".into(), port.to_string()]);
            args.extend(certificates.server_args());
        }
        if self.cluster_enabled {
            args.extend(["--cluster-enabled".into(), "yes".into()]);
            args.extend([
                "--cluster-config-file".into(),
                dir.join("nodes.conf").display().to_string(),
            ]);
        }
        args.extend(self.args.iter().cloned());
        args
    }
}

/// A private `redis-server` process, killed (SIGKILL) when dropped.
///
/// Its socket, log and any data files live in a temporary directory that is
/// removed on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    pid: u32,
    binary: PathBuf,
    args: Vec<String>,
    transport: Transport,
    tls_port: Option<u16>,
    log_path: PathBuf,
    ready_timeout: Duration,
    // Removed only after `Drop::drop` has killed the process.
    dir: TempDir,
}

impl RedisServer {
    /// Options for the server: transport, extra arguments, binary.
    pub fn builder() -> RedisServerBuilder {
        RedisServerBuilder::default()
    }

    /// Starts a server with the defaults (unix socket, no persistence).
    pub fn start() -> Result<RedisServer, HarnessError> {
        Self::builder().start()
    }

    /// The URL to reach the server: `redis+unix:///…/redis.sock` or
    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        match &self.transport {
            Transport::Unix(socket) => format!("redis+unix://{}", socket.display()),
            Transport::Tcp(port) => format!("redis://127.0.0.1:{port}"),
        }
    }

    /// The TLS URL (`rediss://127.0.0.1:PORT`), when started with
    /// [`RedisServerBuilder::tls`].
    pub fn tls_url(&self) -> Option<String> {
        self.tls_port
            .map(|port| format!("rediss://127.0.0.1:{port}"))
    }

    /// The TLS port, when started with [`RedisServerBuilder::tls`].
    pub fn tls_port(&self) -> Option<u16> {
        self.tls_port
    }

    /// A [`ConfigBuilder`] with the server's URL set, to add a namespace or timeouts.
    pub fn config_builder(&self) -> ConfigBuilder {
        Config::builder().url(self.url())
    }

    /// A [`Config`] for the server.
    pub fn config(&self) -> crate::Result<Config> {
        self.config_builder().build()
    }

    /// A [`Store`] connected to the server.
    pub async fn store(&self) -> crate::Result<Store> {
        Store::connect(&self.config()?).await
    }

    /// A raw redis-rs connection, for seeding or inspecting data with plain commands.
    pub async fn raw_connection(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        redis::Client::open(self.url().as_str())?
            .get_multiplexed_async_connection()
            .await
    }

    /// The process id of the current (or, after [`stop`](Self::stop), the last) server process.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The server's log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The server's temporary directory (working directory, socket, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The unix socket path, unless the server listens on TCP.
    pub fn socket_path(&self) -> Option<&Path> {
        match &self.transport {
            Transport::Unix(socket) => Some(socket),
            Transport::Tcp(_) => None,
        }
    }

    /// The TCP port, if the server listens on TCP.
    pub fn port(&self) -> Option<u16> {
        match self.transport {
            Transport::Tcp(port) => Some(port),
            Transport::Unix(_) => None,
        }
    }

    /// The last lines of the server's log, for assertion messages.
    pub fn log_tail(&self) -> String {
        read_log_tail(&self.log_path)
    }

    /// Kills the server (SIGKILL) and reaps it. Does nothing if it is already stopped.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(&mut child);
        }
    }

    /// Kills the server and starts a new one with the same arguments, on the
    /// same socket path or port and in the same directory, then waits until it
    /// answers `PING`. The URL does not change.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.stop();
        if let Transport::Unix(socket) = &self.transport {
            // SIGKILL leaves the socket file behind.
            let _ = std::fs::remove_file(socket);
        }
        let mut child = spawn(&self.binary, &self.args, &self.dir.path().join(STDERR_FILE))?;
        self.pid = child.id();
        match wait_ready(&mut child, &self.transport, self.ready_timeout) {
            Ok(()) => {
                self.child = Some(child);
                Ok(())
            }
            Err(_) => {
                kill(&mut child);
                Err(HarnessError::NotReady {
                    log_tail: read_log_tail(&self.log_path),
                })
            }
        }
    }

    /// Shuts the server down gracefully: sends SIGTERM and waits (up to the
    /// ready timeout) for the process to exit, as a service manager would.
    /// Redis then finishes what it is doing, flushes and fsyncs the
    /// append-only file (when on) and removes its unix socket, so every write
    /// it acknowledged is on disk. [`restart`](Self::restart) afterwards starts
    /// it again on the same socket or port and directory, loading that data.
    ///
    /// A server that does not exit in time is killed (SIGKILL) and the error
    /// says so: then the shutdown was not graceful. Does nothing if the server
    /// is already stopped. A [`paused`](Self::pause) server is resumed first,
    /// since a stopped process does not act on SIGTERM.
    pub fn shutdown(&mut self) -> io::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let signalled =
            send_signal(self.pid, "-CONT").and_then(|()| send_signal(self.pid, "-TERM"));
        if let Err(err) = signalled {
            kill(&mut child);
            return Err(err);
        }
        let deadline = Instant::now() + self.ready_timeout;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL_INTERVAL),
                Ok(None) => {
                    kill(&mut child);
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "redis-server did not exit within {:?} of SIGTERM and was killed",
                            self.ready_timeout
                        ),
                    ));
                }
                Err(err) => {
                    kill(&mut child);
                    return Err(err);
                }
            }
        }
    }

    /// Freezes the server (SIGSTOP): it keeps its sockets open and the kernel
    /// keeps accepting connections and buffering requests, but nothing is
    /// answered until [`resume`](Self::resume). This is a hung server, not a
    /// dead one. Dropping a paused server still kills it.
    pub fn pause(&self) -> io::Result<()> {
        send_signal(self.pid, "-STOP")
    }

    /// Lets a [`paused`](Self::pause) server run again (SIGCONT); it then
    /// answers the requests that queued up meanwhile, in order.
    pub fn resume(&self) -> io::Result<()> {
        send_signal(self.pid, "-CONT")
    }

    /// Whether the server process is still alive.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Why a spawned server did not become ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// The process exited.
    Exited,
    /// The deadline passed.
    TimedOut,
}

/// The binary from `$REDIS_SERVER_BIN`, or `redis-server` on `PATH`.
fn find_binary() -> Result<PathBuf, HarnessError> {
    if let Some(bin) = std::env::var_os(REDIS_SERVER_BIN).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(&bin);
        return check_binary(&path, &format!("{REDIS_SERVER_BIN}=`{}`", path.display()));
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path_var) {
        let candidate = dir.join("redis-server");
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    Err(HarnessError::NotFound {
        searched: format!(
            "{REDIS_SERVER_BIN} (unset) and PATH=`{}`",
            path_var.to_string_lossy()
        ),
    })
}

/// Accepts an explicitly named binary if it exists and is executable.
fn check_binary(path: &Path, described: &str) -> Result<PathBuf, HarnessError> {
    if is_executable(path) {
        Ok(path.to_path_buf())
    } else {
        Err(HarnessError::NotFound {
            searched: format!("{described}, which is not an executable file"),
        })
    }
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A port on 127.0.0.1 that was free a moment ago, below [`MAX_PORT`].
fn free_port() -> io::Result<u16> {
    // Keep rejected listeners open so the OS hands out a different port.
    let mut rejected = Vec::new();
    for _ in 0..64 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        if port <= MAX_PORT {
            return Ok(port);
        }
        rejected.push(listener);
    }
    Err(io::Error::new(
        io::ErrorKind::AddrNotAvailable,
        format!("no free TCP port at or below {MAX_PORT} on 127.0.0.1"),
    ))
}

/// Spawns the server. Its stderr (where it reports bad arguments, before the
/// log file is open) goes to `stderr_path`; stdout is discarded.
fn spawn(binary: &Path, args: &[String], stderr_path: &Path) -> Result<Child, HarnessError> {
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(stderr_path)
        .map_err(HarnessError::Spawn)?;
    Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(HarnessError::Spawn)
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Sends `signal` (e.g. `-TERM`) to `pid` with the `kill` utility (the crate
/// forbids the `unsafe` a direct `kill(2)` would need).
fn send_signal(pid: u32, signal: &str) -> io::Result<()> {
    let status = Command::new("kill")
        .arg(signal)
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "`kill {signal} {pid}` failed ({status})"
        )))
    }
}

/// Polls until the server answers `PING`, exits, or `timeout` passes.
fn wait_ready(child: &mut Child, transport: &Transport, timeout: Duration) -> Result<(), Failure> {
    let deadline = Instant::now() + timeout;
    loop {
        if !matches!(child.try_wait(), Ok(None)) {
            return Err(Failure::Exited);
        }
        if probe(transport).unwrap_or(false) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Failure::TimedOut);
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// One `PING`; `Ok(true)` when the server is up. A `-NOAUTH` reply (the user
/// passed `--requirepass`) also means the server is up.
fn probe(transport: &Transport) -> io::Result<bool> {
    let mut reply = [0u8; 64];
    let n = match transport {
        Transport::Unix(socket) => {
            let mut stream = UnixStream::connect(socket)?;
            stream.set_read_timeout(Some(PROBE_TIMEOUT))?;
            stream.set_write_timeout(Some(PROBE_TIMEOUT))?;
            ping(&mut stream, &mut reply)?
        }
        Transport::Tcp(port) => {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, *port));
            let mut stream = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT)?;
            stream.set_read_timeout(Some(PROBE_TIMEOUT))?;
            stream.set_write_timeout(Some(PROBE_TIMEOUT))?;
            ping(&mut stream, &mut reply)?
        }
    };
    let reply = &reply[..n];
    Ok(reply.starts_with(b"+PONG") || reply.starts_with(b"-NOAUTH"))
}

fn ping(stream: &mut (impl Read + Write), reply: &mut [u8]) -> io::Result<usize> {
    stream.write_all(b"PING\r\n")?;
    stream.read(reply)
}

/// The last [`LOG_TAIL_LINES`] lines of the log, preceded by anything the
/// server wrote to stderr, or a note that there is no log.
fn read_log_tail(log_path: &Path) -> String {
    let mut out = String::new();
    let stderr = std::fs::read(log_path.with_file_name(STDERR_FILE)).unwrap_or_default();
    let stderr = tail(&String::from_utf8_lossy(&stderr));
    if !stderr.is_empty() {
        out.push_str("stderr:\n");
        out.push_str(&stderr);
        out.push_str("\nlog:\n");
    }
    match std::fs::read(log_path) {
        Ok(bytes) => {
            let log = tail(&String::from_utf8_lossy(&bytes));
            if log.is_empty() {
                out.push_str(&format!("(log file {} is empty)", log_path.display()));
            } else {
                out.push_str(&log);
            }
        }
        Err(e) => out.push_str(&format!("(no log at {}: {e})", log_path.display())),
    }
    out
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn ping(server: &RedisServer) -> String {
        let mut conn = server.raw_connection().await.expect("raw connection");
        redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .expect("PING")
    }

    #[tokio::test]
    async fn starts_and_answers_ping() {
        let mut server = RedisServer::start().expect("start redis-server");
        assert!(
            server.url().starts_with("redis+unix://"),
            "{}",
            server.url()
        );
        assert!(server.is_running());
        assert_eq!(ping(&server).await, "PONG");

        // The harness's settings are in effect.
        let mut conn = server.raw_connection().await.expect("raw connection");
        let save: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("save")
            .query_async(&mut conn)
            .await
            .expect("CONFIG GET");
        assert_eq!(save, ["save", ""]);

        server.stop();
        server.stop();
        assert!(!server.is_running());
    }

    #[tokio::test]
    async fn restart_keeps_the_url() {
        for builder in [RedisServer::builder(), RedisServer::builder().tcp()] {
            let mut server = builder.start().expect("start redis-server");
            let url = server.url();
            let pid = server.pid();
            assert_eq!(ping(&server).await, "PONG");

            server.restart().expect("restart");
            assert_eq!(server.url(), url);
            assert_ne!(server.pid(), pid);
            assert!(server.is_running());
            assert_eq!(ping(&server).await, "PONG");
        }
    }

    #[tokio::test]
    async fn a_graceful_shutdown_keeps_the_append_only_file() {
        let mut server = RedisServer::builder()
            .appendonly(true)
            .start()
            .expect("start redis-server");
        let mut conn = server.raw_connection().await.expect("raw connection");
        let () = redis::cmd("SET")
            .arg("k")
            .arg("v")
            .query_async(&mut conn)
            .await
            .expect("SET");
        server.shutdown().expect("graceful shutdown");
        assert!(!server.is_running());
        // Redis logs this only at the end of a graceful shutdown.
        let log = std::fs::read_to_string(server.log_path()).expect("log");
        assert!(log.contains("ready to exit"), "{}", server.log_tail());
        server.shutdown().expect("a second shutdown does nothing");
        server.restart().expect("restart");
        let mut conn = server.raw_connection().await.expect("raw connection");
        let value: Option<String> = redis::cmd("GET")
            .arg("k")
            .query_async(&mut conn)
            .await
            .expect("GET");
        assert_eq!(value.as_deref(), Some("v"));
    }

    #[tokio::test]
    async fn a_paused_server_answers_after_resume() {
        let server = RedisServer::start().expect("start redis-server");
        let mut conn = server.raw_connection().await.expect("raw connection");
        server.pause().expect("pause");
        let reply = tokio::time::timeout(
            Duration::from_millis(200),
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await;
        assert!(reply.is_err(), "a paused server answered: {reply:?}");
        server.resume().expect("resume");
        assert_eq!(ping(&server).await, "PONG");
    }

    #[tokio::test]
    async fn tcp_cluster_node_starts() {
        let server = RedisServer::builder()
            .tcp()
            .cluster_enabled(true)
            .start()
            .expect("start redis-server");
        let port = server.port().expect("tcp port");
        assert!(port <= MAX_PORT);
        assert_eq!(server.url(), format!("redis://127.0.0.1:{port}"));
        let mut conn = server.raw_connection().await.expect("raw connection");
        let info: String = redis::cmd("CLUSTER")
            .arg("INFO")
            .query_async(&mut conn)
            .await
            .expect("CLUSTER INFO");
        assert!(info.contains("cluster_state"), "{info}");
    }

    #[test]
    fn missing_binary_is_a_clear_error() {
        let err = RedisServer::builder()
            .binary("/nonexistent/redis-server-bogus")
            .start()
            .expect_err("a bogus binary must not start");
        assert!(
            matches!(err, HarnessError::NotFound { .. } | HarnessError::Spawn(_)),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("no redis-server found"), "{message}");
        assert!(message.contains("REDIS_SERVER_BIN"), "{message}");
        assert!(
            message.contains("/nonexistent/redis-server-bogus"),
            "{message}"
        );
    }

    #[test]
    fn bad_arguments_report_the_log() {
        let err = RedisServer::builder()
            .arg("--no-such-directive")
            .arg("1")
            .start()
            .expect_err("a bad directive must not start");
        let HarnessError::NotReady { log_tail } = &err else {
            panic!("expected NotReady, got {err:?}");
        };
        // redis-server reports config errors on stderr, before its log is open.
        assert!(log_tail.contains("no-such-directive"), "{log_tail}");
    }
}
