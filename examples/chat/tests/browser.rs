//! The page in a real browser: headless Chromium (Debian's `chromium`),
//! driven through `chromedriver` (Debian's `chromium-driver`) with
//! fantoccini, a WebDriver client. Two windows, one on each instance: a
//! message typed in one appears in the other; then the second window's
//! instance stops and starts again, and the page, once reconnected, shows
//! what it missed meanwhile, once. Screenshots are written under the target
//! directory, and their paths printed.
//!
//! Without Chromium or chromedriver the test is skipped with a message,
//! except in CI (`CI=true`), where it fails: `.ci/run` installs both.

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use super::{Deployment, PATIENCE};

/// `$name_BIN` when set, else the first of `programs` found on `PATH`.
fn find(env: &str, programs: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    programs.iter().find_map(|program| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

/// A `chromedriver` on a free port of 127.0.0.1, killed on drop with the
/// browsers it started.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    async fn start(binary: &Path) -> ChromeDriver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            // A group of its own, which the browsers it starts join: a test
            // that fails before closing its windows leaves no Chromium behind.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        // Ready when it accepts connections (it binds before serving).
        let deadline = Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        driver
    }

    /// A new browser window (a session of its own).
    async fn window(&self, chromium: &Path) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({
                "binary": chromium,
                // Root in a container: no sandbox; /dev/shm may be small.
                // No crash reporter: its handler would outlive the test.
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--disable-gpu", "--disable-crash-reporter", "--disable-breakpad",
                         "--window-size=800,600"],
            }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("chromedriver opens a Chromium session")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and every browser it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--"])
            .arg(format!("-{}", self.child.id()))
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Opens the page, logs in as `name` and waits until the lobby is live.
async fn open_as(window: &Client, url: &str, name: &str) {
    window.goto(url).await.expect("the page loads");
    window
        .find(Locator::Css("#name"))
        .await
        .unwrap()
        .send_keys(name)
        .await
        .unwrap();
    window
        .find(Locator::Css("#login-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    window
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css("body[data-live='yes']"))
        .await
        .unwrap_or_else(|e| panic!("{name}'s page never went live: {e}"));
}

/// Where the screenshots go: `<target>/<profile>/chat-browser/`.
fn artifacts() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // <target>/<profile>/examples/chat-<hash>
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is under <target>/<profile>/examples");
    let dir = profile.join("chat-browser");
    std::fs::create_dir_all(&dir).expect("the artifacts directory");
    dir
}

/// Ada's window on instance a, bob's on b: what ada types shows in bob's
/// window, and still does, exactly once each, after bob's instance went
/// away and came back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_typed_in_one_window_appears_in_the_other() {
    let chromium = find("CHROMIUM_BIN", &["chromium", "chromium-browser"]);
    let chromedriver = find("CHROMEDRIVER_BIN", &["chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        let message = "the browser test needs Chromium and chromedriver \
                       (`apt-get install chromium chromium-driver`, or set \
                       CHROMIUM_BIN and CHROMEDRIVER_BIN)";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{message}; in CI they must be there"
        );
        // Straight to stderr, past the test harness's capture, so that the
        // skip shows in a plain `cargo test`.
        let _ = writeln!(std::io::stderr(), "SKIPPED: {message}");
        return;
    };
    let mut deployment = Deployment::start(false).await;
    let driver = ChromeDriver::start(&chromedriver).await;
    let ada = driver.window(&chromium).await;
    let bob = driver.window(&chromium).await;
    open_as(&ada, &deployment.url(0), "ada").await;
    open_as(&bob, &deployment.url(1), "bob").await;

    let text = "hello from a browser on instance a";
    say(&ada, text).await;
    let said_by_ada = |text: &str| {
        format!(
            "//ul[@id='messages']/li[span[@class='from']='ada' and span[@class='text']='{text}']"
        )
    };
    let arrived = bob
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::XPath(&said_by_ada(text)))
        .await;
    screenshots(&[("ada", &ada), ("bob", &bob)], "").await;
    arrived.unwrap_or_else(|e| panic!("the message never reached bob's window: {e}"));

    // Bob's instance goes away; the page reconnects once it is back and
    // shows what ada said meanwhile, once.
    let b = deployment.instances.remove(1);
    let addr = b.addr;
    b.stop().await;
    bob.wait()
        .at_most(PATIENCE)
        .for_element(Locator::XPath(
            "//span[@id='status' and text()='reconnecting…']",
        ))
        .await
        .expect("bob's page notices its instance is gone");
    let missed = "said while bob was away";
    say(&ada, missed).await;
    deployment
        .instances
        .push(super::Instance::start_at(&deployment.redis, "b", addr).await);
    let resumed = bob
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::XPath(&said_by_ada(missed)))
        .await;
    screenshots(&[("bob", &bob)], "-resumed").await;
    resumed.unwrap_or_else(|e| panic!("bob's page never showed what it missed: {e}"));
    let shown = bob
        .find_all(Locator::Css("#messages li .text"))
        .await
        .unwrap();
    let mut texts = Vec::new();
    for line in shown {
        texts.push(line.text().await.unwrap());
    }
    assert_eq!(texts, [text, missed], "bob's page after the reconnect");
    ada.close().await.unwrap();
    bob.close().await.unwrap();
}

/// Types `text` into the page's message box and sends it.
async fn say(window: &Client, text: &str) {
    window
        .find(Locator::Css("#text"))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
    window
        .find(Locator::Css("#send"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Writes a screenshot of each window under the artifacts directory and
/// prints where.
async fn screenshots(windows: &[(&str, &Client)], suffix: &str) {
    let dir = artifacts();
    for (name, window) in windows {
        let png = window.screenshot().await.expect("a screenshot");
        let path = dir.join(format!("{name}{suffix}.png"));
        std::fs::write(&path, png).expect("the screenshot is written");
        // Past the test harness's capture, so a plain `cargo test` shows it.
        let _ = writeln!(
            std::io::stderr(),
            "screenshot of {name}'s window: {}",
            path.display()
        );
    }
}
