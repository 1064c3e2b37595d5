//! Headless Chromium driven over the DevTools protocol, just enough for
//! page tests: open a tab at a window size, load a URL and wait for it,
//! evaluate an expression, take a screenshot, and keep what the page
//! logged and requested. One websocket, one thread; every wait is bounded.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// Debian's binary name first, then others.
const BINARIES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// The browser executable, if this machine has one.
pub fn find() -> Option<String> {
    BINARIES
        .iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
        .map(|b| b.to_string())
}

/// What a page did while it loaded.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Console errors, uncaught exceptions and error log entries, each with
    /// the URL it concerns (if any).
    pub errors: Vec<(String, Option<String>)>,
    /// Every request: URL and resource type.
    pub requests: Vec<(String, String)>,
}

pub struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    session: String,
    seen: Seen,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts `binary` headless and opens one tab.
    pub fn launch(binary: &str) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(binary)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-extensions",
                "--no-first-run",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                // Nothing leaves the machine: every name but loopback fails
                // to resolve at once (story images from the feeds included).
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        // It says where it listens on stderr; read that on a thread so a
        // silent browser cannot hang the test.
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("ws://") {
                    let _ = tx.send(line[at..].trim().to_string());
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(30)).expect("chromium tells its DevTools address");
        let addr = url.trim_start_matches("ws://").split('/').next().unwrap().to_string();
        let stream = TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let (ws, _) = tungstenite::client::client(url.as_str(), stream).expect("DevTools websocket");
        let mut b = Browser { child, ws, next_id: 0, session: String::new(), seen: Seen::default(), _profile: profile };
        let target = b.call("Target.createTarget", json!({"url": "about:blank"}), false);
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = b.call("Target.attachToTarget", json!({"targetId": target_id, "flatten": true}), false);
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable", "Network.enable"] {
            b.call(domain, json!({}), true);
        }
        b
    }

    /// Sends a command (to the tab when `on_page`) and waits for its answer,
    /// keeping the events that come before it.
    fn call(&mut self, method: &str, params: Value, on_page: bool) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if on_page {
            msg["sessionId"] = json!(self.session);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(Instant::now() < deadline, "no answer to {method}");
            let v = self.read();
            if v["id"].as_u64() == Some(id) {
                assert!(v.get("error").is_none(), "{method}: {}", v["error"]);
                return v["result"].clone();
            }
            self.note(&v);
        }
    }

    fn read(&mut self) -> Value {
        loop {
            match self.ws.read().expect("DevTools message") {
                Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                Message::Close(_) => panic!("DevTools closed the connection"),
                _ => {}
            }
        }
    }

    /// Keeps what a page event says about errors and requests.
    fn note(&mut self, v: &Value) {
        let p = &v["params"];
        match v["method"].as_str() {
            Some("Runtime.consoleAPICalled") if p["type"] == "error" => {
                let text = p["args"]
                    .as_array()
                    .map(|a| a.iter().map(|x| x["value"].to_string()).collect::<Vec<_>>().join(" "));
                self.seen.errors.push((format!("console.error: {}", text.unwrap_or_default()), None));
            }
            Some("Runtime.exceptionThrown") => {
                self.seen.errors.push((format!("exception: {}", p["exceptionDetails"]["text"]), None));
            }
            Some("Log.entryAdded") if p["entry"]["level"] == "error" => {
                let url = p["entry"]["url"].as_str().map(str::to_string);
                self.seen.errors.push((format!("log: {}", p["entry"]["text"]), url));
            }
            Some("Network.requestWillBeSent") => {
                let url = p["request"]["url"].as_str().unwrap_or_default().to_string();
                self.seen.requests.push((url, p["type"].as_str().unwrap_or_default().to_string()));
            }
            _ => {}
        }
    }

    /// The window size (and whether it is a phone's) for what follows.
    pub fn viewport(&mut self, width: u32, height: u32, mobile: bool) {
        let params = json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile});
        self.call("Emulation.setDeviceMetricsOverride", params, true);
    }

    /// Loads `url` and waits for its load event; what it did on the way.
    pub fn visit(&mut self, url: &str) -> Seen {
        self.seen = Seen::default();
        let nav = self.call("Page.navigate", json!({"url": url}), true);
        assert!(nav.get("errorText").is_none(), "{url}: {}", nav["errorText"]);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(Instant::now() < deadline, "{url} did not finish loading");
            let v = self.read();
            self.note(&v);
            if v["method"] == "Page.loadEventFired" {
                break;
            }
        }
        // Late console messages of the load.
        self.eval("1");
        std::mem::take(&mut self.seen)
    }

    /// The value of a JavaScript expression in the page.
    pub fn eval(&mut self, expression: &str) -> Value {
        let r = self.call("Runtime.evaluate", json!({"expression": expression, "returnByValue": true}), true);
        assert!(r.get("exceptionDetails").is_none(), "{expression}: {}", r["exceptionDetails"]);
        r["result"]["value"].clone()
    }

    /// A PNG of the page as it is, written to `path`.
    pub fn screenshot(&mut self, path: &Path) {
        use base64::Engine;
        let r = self.call("Page.captureScreenshot", json!({"format": "png", "captureBeyondViewport": true}), true);
        let png = base64::engine::general_purpose::STANDARD.decode(r["data"].as_str().unwrap()).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
