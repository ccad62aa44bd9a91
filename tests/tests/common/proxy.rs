//! A TCP proxy for fault tests: it can stall, black-hole, hold replies
//! or close the connections it forwards.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP proxy in front of a server that can stop forwarding without closing
/// anything (the client's connection stays open and the kernel keeps
/// accepting its bytes, as with a peer gone behind a NAT or firewall), hold
/// back only the server's replies, or close the connections it holds.
pub struct Proxy {
    addr: SocketAddr,
    links: Arc<Mutex<Links>>,
    /// How many times a pump has held bytes back.
    held: watch::Receiver<u64>,
}

/// What a pump does with the bytes it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Forward,
    /// Keep them (and read nothing more) until told otherwise.
    Hold,
    /// Drop them and close the connection.
    Close,
}

/// The two directions of one proxied connection.
struct Link {
    /// Client to server: the requests.
    up: watch::Sender<Flow>,
    /// Server to client: the replies.
    down: watch::Sender<Flow>,
}

impl Link {
    fn set(&self, flow: Flow) {
        self.up.send_replace(flow);
        self.down.send_replace(flow);
    }
}

/// The proxied connections, and what new ones start with.
struct Links {
    new_flow: Flow,
    open: Vec<Link>,
    /// Connections that never forward again (kept, so they are not closed).
    holes: Vec<Link>,
}

impl Proxy {
    pub async fn start(upstream_port: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let links = Arc::new(Mutex::new(Links {
            new_flow: Flow::Forward,
            open: Vec::new(),
            holes: Vec::new(),
        }));
        let (held_tx, held) = watch::channel(0u64);
        let held_tx = Arc::new(held_tx);
        let shared = links.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)).await else {
                    continue;
                };
                // As the store does: no Nagle delay on top of the fault.
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (up, down) = {
                    let mut links = shared.lock().unwrap();
                    let (up, up_rx) = watch::channel(links.new_flow);
                    let (down, down_rx) = watch::channel(links.new_flow);
                    links.open.push(Link { up, down });
                    (up_rx, down_rx)
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pump(client_read, server_write, up, held_tx.clone()));
                tokio::spawn(pump(server_read, client_write, down, held_tx.clone()));
            }
        });
        Proxy { addr, links, held }
    }

    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Stops forwarding on every connection, open and new, keeping them open.
    pub fn stall(&self) {
        let mut links = self.links.lock().unwrap();
        links.new_flow = Flow::Hold;
        links.open.iter().for_each(|link| link.set(Flow::Hold));
    }

    /// Forwards again; what was held back is delivered now.
    pub fn resume(&self) {
        let mut links = self.links.lock().unwrap();
        links.new_flow = Flow::Forward;
        links.open.iter().for_each(|link| link.set(Flow::Forward));
    }

    /// Stops forwarding, for good, on the connections open now (their
    /// sockets stay open), and forwards new connections.
    pub fn black_hole(&self) {
        let links = &mut *self.links.lock().unwrap();
        for link in links.open.drain(..) {
            link.set(Flow::Hold);
            links.holes.push(link);
        }
    }

    /// Holds back the server's replies on the connections open now; requests
    /// still reach the server.
    pub fn hold_replies(&self) {
        let links = self.links.lock().unwrap();
        links.open.iter().for_each(|link| {
            link.down.send_replace(Flow::Hold);
        });
    }

    /// Closes the connections open now, dropping whatever they hold.
    pub fn close_open(&self) {
        let mut links = self.links.lock().unwrap();
        links.open.drain(..).for_each(|link| link.set(Flow::Close));
    }

    /// Waits until a pump holds bytes back (a reply, after `hold_replies`).
    pub async fn wait_held(&mut self) {
        tokio::time::timeout(Duration::from_secs(10), self.held.wait_for(|n| *n > 0))
            .await
            .expect("the proxy to hold a reply within 10 s")
            .unwrap();
    }
}

/// Copies `from` to `to` as `flow` says. Holding, a pump reads nothing, so
/// bytes wait in the kernel's buffers and nothing is closed (it counts, in
/// `held`, each time bytes are waiting while it holds); closing, it drops
/// both halves it owns.
async fn pump(
    from: OwnedReadHalf,
    to: OwnedWriteHalf,
    mut flow: watch::Receiver<Flow>,
    held: Arc<watch::Sender<u64>>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            ready = from.readable() => if ready.is_err() {
                return;
            },
            _ = flow.wait_for(|f| *f == Flow::Close) => return,
        }
        if *flow.borrow() == Flow::Hold {
            held.send_modify(|n| *n += 1);
        }
        match flow.wait_for(|f| *f != Flow::Hold).await.map(|f| *f) {
            Ok(Flow::Forward) => {}
            _ => return,
        }
        let n = match from.try_read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        };
        let mut sent = 0;
        while sent < n {
            if to.writable().await.is_err() {
                return;
            }
            match to.try_write(&buf[sent..n]) {
                Ok(k) => sent += k,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    }
}
