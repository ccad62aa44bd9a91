//! A counting TCP proxy between one client and the server: exact client-side
//! counts of wire bytes, requests, replies and round trips.
//!
//! A **round trip** is a burst of client bytes that starts while every
//! earlier request has been answered: the client had to wait for the server
//! before sending it. Requests and replies are counted by parsing RESP frames
//! in both directions, so a request split over several TCP segments is still
//! one request, and a pipeline is one round trip. (A pipeline so large that it
//! arrives in pieces, with every complete command already answered in
//! between, would count twice; batches of a few KB never do.)
//!
//! The proxy runs on plain threads and allocates nothing per operation unless
//! recording, so it does not disturb allocation counts of the client.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// Counters of everything that went through a proxy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProxyStats {
    /// Bytes from the client to the server.
    pub bytes_out: u64,
    /// Bytes from the server to the client.
    pub bytes_in: u64,
    /// Complete RESP requests (commands) the client sent.
    pub requests: u64,
    /// Complete RESP replies the server sent.
    pub replies: u64,
    /// Client bursts that started with nothing outstanding.
    pub round_trips: u64,
}

impl std::ops::Sub for ProxyStats {
    type Output = ProxyStats;
    fn sub(self, rhs: ProxyStats) -> ProxyStats {
        ProxyStats {
            bytes_out: self.bytes_out - rhs.bytes_out,
            bytes_in: self.bytes_in - rhs.bytes_in,
            requests: self.requests - rhs.requests,
            replies: self.replies - rhs.replies,
            round_trips: self.round_trips - rhs.round_trips,
        }
    }
}

#[derive(Default)]
struct Shared {
    bytes_out: AtomicU64,
    bytes_in: AtomicU64,
    requests: AtomicU64,
    replies: AtomicU64,
    round_trips: AtomicU64,
    recording: AtomicBool,
    recorded: Mutex<Vec<u8>>,
}

/// A running proxy; stops accepting when dropped.
pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").field("port", &self.port).finish()
    }
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards every connection to `upstream_port`.
    pub fn start(upstream_port: u16) -> io::Result<Proxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (shared2, stop2) = (Arc::clone(&shared), Arc::clone(&stop));
        thread::Builder::new()
            .name("bench-proxy".into())
            .spawn(move || {
                for client in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let upstream = SocketAddr::from((Ipv4Addr::LOCALHOST, upstream_port));
                    let Ok(server) = TcpStream::connect(upstream) else {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    spawn_pair(client, server, Arc::clone(&shared2));
                }
            })?;
        Ok(Proxy { port, shared, stop })
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL clients connect to.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The counters so far.
    pub fn stats(&self) -> ProxyStats {
        let s = &self.shared;
        ProxyStats {
            bytes_out: s.bytes_out.load(Ordering::SeqCst),
            bytes_in: s.bytes_in.load(Ordering::SeqCst),
            requests: s.requests.load(Ordering::SeqCst),
            replies: s.replies.load(Ordering::SeqCst),
            round_trips: s.round_trips.load(Ordering::SeqCst),
        }
    }

    /// Starts keeping a copy of every client→server byte (clearing the previous one).
    pub fn start_recording(&self) {
        self.shared
            .recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.shared.recording.store(true, Ordering::SeqCst);
    }

    /// Stops recording and returns the client→server bytes since [`Proxy::start_recording`].
    pub fn take_recording(&self) -> Vec<u8> {
        self.shared.recording.store(false, Ordering::SeqCst);
        std::mem::take(
            &mut *self
                .shared
                .recorded
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
    }
}

fn spawn_pair(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up = Arc::clone(&shared);
    let _ = thread::Builder::new()
        .name("bench-proxy-c2s".into())
        .spawn(move || {
            let mut frames = FrameCounter::default();
            pump(client, server, |chunk| {
                count_requests(&up, &mut frames, chunk)
            });
        });
    let _ = thread::Builder::new()
        .name("bench-proxy-s2c".into())
        .spawn(move || {
            let mut frames = FrameCounter::default();
            pump(server2, client2, |chunk| {
                count_replies(&shared, &mut frames, chunk)
            });
        });
}

/// Forwards `from` to `to` until either side closes; `count` sees every chunk
/// before it is forwarded (the peer answers only after it has the bytes).
fn pump(mut from: TcpStream, mut to: TcpStream, mut count: impl FnMut(&[u8])) {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        count(chunk);
        if to.write_all(chunk).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

fn count_requests(shared: &Shared, frames: &mut FrameCounter, chunk: &[u8]) {
    if frames.at_boundary()
        && shared.requests.load(Ordering::SeqCst) == shared.replies.load(Ordering::SeqCst)
    {
        shared.round_trips.fetch_add(1, Ordering::SeqCst);
    }
    let complete = frames.feed(chunk);
    shared.requests.fetch_add(complete, Ordering::SeqCst);
    shared
        .bytes_out
        .fetch_add(chunk.len() as u64, Ordering::SeqCst);
    if shared.recording.load(Ordering::SeqCst) {
        shared
            .recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(chunk);
    }
}

fn count_replies(shared: &Shared, frames: &mut FrameCounter, chunk: &[u8]) {
    let complete = frames.feed(chunk);
    shared.replies.fetch_add(complete, Ordering::SeqCst);
    shared
        .bytes_in
        .fetch_add(chunk.len() as u64, Ordering::SeqCst);
}

/// Counts complete top-level RESP2/RESP3 frames in a byte stream.
#[derive(Debug, Default)]
pub struct FrameCounter {
    /// The current header line, when split across chunks.
    line: Vec<u8>,
    /// Bytes of a bulk payload (plus its CRLF) still to skip.
    skip: usize,
    /// Elements still expected by each open aggregate.
    open: Vec<u64>,
    /// Whether a frame has started and not finished.
    in_frame: bool,
}

impl FrameCounter {
    /// Whether the stream so far ends exactly between frames.
    pub fn at_boundary(&self) -> bool {
        !self.in_frame
    }

    /// Feeds bytes; returns how many top-level frames they completed.
    pub fn feed(&mut self, mut data: &[u8]) -> u64 {
        let mut complete = 0;
        while !data.is_empty() {
            self.in_frame = true;
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = &data[n..];
                if self.skip == 0 {
                    complete += self.element_done();
                }
                continue;
            }
            let Some(end) = data.iter().position(|&b| b == b'\n') else {
                self.line.extend_from_slice(data);
                break;
            };
            self.line.extend_from_slice(&data[..=end]);
            data = &data[end + 1..];
            let line = std::mem::take(&mut self.line);
            complete += self.header(&line);
        }
        complete
    }

    fn header(&mut self, line: &[u8]) -> u64 {
        let body = line.strip_suffix(b"\r\n").unwrap_or(line);
        let Some((&kind, rest)) = body.split_first() else {
            return 0;
        };
        let len = || {
            std::str::from_utf8(rest)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .unwrap_or(0)
        };
        match kind {
            b'$' | b'=' | b'!' => match len() {
                n if n < 0 => self.element_done(),
                n => {
                    self.skip = n as usize + 2;
                    0
                }
            },
            b'*' | b'~' | b'>' => self.aggregate(len()),
            b'%' => self.aggregate(len().saturating_mul(2)),
            // An attribute precedes the element it describes: its pairs, then the element.
            b'|' => {
                self.open.push(u64::try_from(len()).unwrap_or(0) * 2 + 1);
                0
            }
            // Simple types (and inline commands) are one element.
            _ => self.element_done(),
        }
    }

    fn aggregate(&mut self, n: i64) -> u64 {
        if n <= 0 {
            self.element_done()
        } else {
            self.open.push(n as u64);
            0
        }
    }

    /// One element finished; closes every aggregate it completes.
    fn element_done(&mut self) -> u64 {
        loop {
            match self.open.last_mut() {
                None => {
                    self.in_frame = false;
                    return 1;
                }
                Some(left) => {
                    *left -= 1;
                    if *left > 0 {
                        return 0;
                    }
                    self.open.pop();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FrameCounter;

    #[test]
    fn counts_frames_across_any_split() {
        let stream: &[u8] = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n+OK\r\n*2\r\n*1\r\n:1\r\n$-1\r\n%1\r\n+a\r\n:2\r\n$0\r\n\r\n";
        for split in 0..stream.len() {
            let mut c = FrameCounter::default();
            let n = c.feed(&stream[..split]) + c.feed(&stream[split..]);
            assert_eq!(n, 5, "split at {split}");
            assert!(c.at_boundary());
        }
        let mut c = FrameCounter::default();
        assert_eq!(c.feed(b"*2\r\n$1\r\na\r\n"), 0);
        assert!(!c.at_boundary());
    }
}
