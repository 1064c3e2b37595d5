//! A fixture HTTP server on 127.0.0.1 serving `tests/fixtures/` with chosen
//! behaviours, and helpers to lay out a config around it.

#![allow(dead_code)]

pub mod browser;
pub mod pg;

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// What the server saw: requests per path and the conditional headers sent.
#[derive(Default)]
pub struct Seen {
    pub hits: HashMap<String, usize>,
    pub not_modified: usize,
    pub user_agents: Vec<String>,
    /// Bodies POSTed to `/hub` (WebSub pings).
    pub hub_pings: Vec<String>,
    /// Requests to `/delay/*` and delayed `/body/*` in flight now, and the
    /// most seen at once.
    pub in_flight: usize,
    pub max_in_flight: usize,
}

/// A body registered by a test, with extra response headers.
type Registered = (Vec<u8>, Vec<(String, String)>);

#[derive(Clone)]
struct AppState {
    seen: Arc<Mutex<Seen>>,
    bodies: Arc<Mutex<HashMap<String, Registered>>>,
    /// Extra delay for `/delay/*` routes.
    delay: Duration,
}

/// A running fixture server.
pub struct FixtureServer {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Seen>>,
    bodies: Arc<Mutex<HashMap<String, Registered>>>,
}

impl FixtureServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Serves `body` at `/body/<name>` with the given extra headers (a
    /// `:status` entry sets the status code, `:delay-ms` delays the answer).
    pub fn put(&self, name: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> String {
        let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.bodies.lock().unwrap().insert(name.to_string(), (body, headers));
        self.url(&format!("/body/{name}"))
    }

    pub fn hits(&self, path: &str) -> usize {
        self.seen.lock().unwrap().hits.get(path).copied().unwrap_or(0)
    }
}

fn fixture(file: &str) -> Vec<u8> {
    let name = file.replace("..", "");
    std::fs::read(fixtures_dir().join("feeds").join(name)).unwrap_or_default()
}

fn content_type(file: &str) -> &'static str {
    if file.ends_with(".json") {
        "application/feed+json"
    } else if file.ends_with(".html") {
        "text/html"
    } else {
        // No charset: the document has to say.
        "application/xml"
    }
}

fn record(state: &AppState, path: &str, headers: &HeaderMap) {
    let mut seen = state.seen.lock().unwrap();
    *seen.hits.entry(path.to_string()).or_default() += 1;
    if let Some(ua) = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()) {
        seen.user_agents.push(ua.to_string());
    }
}

async fn feed(State(s): State<AppState>, UrlPath(file): UrlPath<String>, h: HeaderMap) -> Response {
    record(&s, &format!("/feeds/{file}"), &h);
    ([(header::CONTENT_TYPE, content_type(&file))], fixture(&file)).into_response()
}

async fn gzip(State(s): State<AppState>, UrlPath(file): UrlPath<String>, h: HeaderMap) -> Response {
    record(&s, &format!("/gzip/{file}"), &h);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&fixture(&file)).unwrap();
    let body = enc.finish().unwrap();
    ([(header::CONTENT_TYPE, content_type(&file)), (header::CONTENT_ENCODING, "gzip")], body).into_response()
}

/// ETag and Last-Modified, with 304 when the client sends either back.
async fn etag(State(s): State<AppState>, UrlPath(file): UrlPath<String>, h: HeaderMap) -> Response {
    record(&s, &format!("/etag/{file}"), &h);
    let tag = "\"v1-fixture\"";
    let lm = "Tue, 01 Apr 2025 00:00:00 GMT";
    let matches = h.get(header::IF_NONE_MATCH).is_some_and(|v| v == tag)
        || h.get(header::IF_MODIFIED_SINCE).is_some_and(|v| v == lm);
    if matches {
        s.seen.lock().unwrap().not_modified += 1;
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response();
    }
    ([(header::CONTENT_TYPE, content_type(&file)), (header::ETAG, tag), (header::LAST_MODIFIED, lm)], fixture(&file))
        .into_response()
}

/// Serves a file under a charset header that lies (says UTF-8).
async fn lying_charset(State(s): State<AppState>, UrlPath(file): UrlPath<String>, h: HeaderMap) -> Response {
    record(&s, &format!("/utf8-lie/{file}"), &h);
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], fixture(&file)).into_response()
}

async fn status(State(s): State<AppState>, UrlPath(code): UrlPath<u16>, h: HeaderMap) -> Response {
    record(&s, &format!("/status/{code}"), &h);
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (code, "<html><head><title>error</title></head></html>").into_response();
    if code == StatusCode::TOO_MANY_REQUESTS || code == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("3600"));
    }
    resp
}

async fn slow(State(s): State<AppState>, h: HeaderMap) -> Response {
    record(&s, "/slow", &h);
    tokio::time::sleep(Duration::from_secs(30)).await;
    ([(header::CONTENT_TYPE, "application/xml")], fixture("rss2-en.xml")).into_response()
}

/// Headers at once, then a body that trickles past any timeout.
async fn stall(State(s): State<AppState>, h: HeaderMap) -> Response {
    record(&s, "/stall", &h);
    let stream = futures_util::stream::unfold(0u32, |n| async move {
        if n > 60 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        Some((Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"<!-- . -->")), n + 1))
    });
    ([(header::CONTENT_TYPE, "application/xml")], Body::from_stream(stream)).into_response()
}

async fn delay(State(s): State<AppState>, UrlPath(file): UrlPath<String>, h: HeaderMap) -> Response {
    record(&s, &format!("/delay/{file}"), &h);
    {
        let mut seen = s.seen.lock().unwrap();
        seen.in_flight += 1;
        seen.max_in_flight = seen.max_in_flight.max(seen.in_flight);
    }
    tokio::time::sleep(s.delay).await;
    s.seen.lock().unwrap().in_flight -= 1;
    ([(header::CONTENT_TYPE, content_type(&file))], fixture(&file)).into_response()
}

/// Fails with 500 for the first `n` requests, then serves the file.
async fn flaky(State(s): State<AppState>, UrlPath((n, file)): UrlPath<(usize, String)>, h: HeaderMap) -> Response {
    let path = format!("/flaky/{n}/{file}");
    record(&s, &path, &h);
    if s.seen.lock().unwrap().hits[&path] <= n {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response();
    }
    ([(header::CONTENT_TYPE, content_type(&file))], fixture(&file)).into_response()
}

/// A feed whose items are dated minutes ago, for runs against the real clock.
async fn fresh(State(s): State<AppState>, UrlPath(name): UrlPath<String>, h: HeaderMap) -> Response {
    record(&s, &format!("/fresh/{name}"), &h);
    let now = chrono::Utc::now();
    let mut items = String::new();
    for (i, (title, text)) in [
        (
            "智谱发布新一代大模型GLM-5，开源旗舰推理能力大幅提升",
            "智谱今天发布新一代大模型GLM-5，并同步开源旗舰版本，推理与编程能力大幅提升。",
        ),
        ("宇树发布新款人形机器人H2，售价9.9万元", "宇树科技发布新款人形机器人H2，身高1.8米，售价9.9万元起。"),
    ]
    .iter()
    .enumerate()
    {
        let when = (now - chrono::Duration::minutes(10 + i as i64)).to_rfc2822();
        items.push_str(&format!(
            "<item><title>{title}</title><link>https://{name}.example.cn/{i}</link><guid>{name}-{i}</guid><pubDate>{when}</pubDate><description>{text}</description></item>"
        ));
    }
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>{name}</title><link>https://{name}.example.cn/</link>{items}</channel></rss>"
    );
    ([(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")], body).into_response()
}

async fn hub(State(s): State<AppState>, body: String) -> Response {
    s.seen.lock().unwrap().hub_pings.push(body);
    StatusCode::NO_CONTENT.into_response()
}

/// Pages from `tests/fixtures/html/`, served without a charset (the page says).
async fn html_page(State(s): State<AppState>, UrlPath(file): UrlPath<String>, h: HeaderMap) -> Response {
    record(&s, &format!("/html/{file}"), &h);
    let name = file.replace("..", "");
    match std::fs::read(fixtures_dir().join("html").join(&name)) {
        Ok(body) => ([(header::CONTENT_TYPE, "text/html")], body).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn html_article(State(s): State<AppState>, UrlPath(file): UrlPath<String>, h: HeaderMap) -> Response {
    html_page(State(s), UrlPath(format!("articles/{file}")), h).await
}

async fn registered(State(s): State<AppState>, UrlPath(name): UrlPath<String>, h: HeaderMap) -> Response {
    record(&s, &format!("/body/{name}"), &h);
    let Some((body, headers)) = s.bodies.lock().unwrap().get(&name).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // `:delay-ms` answers that much later.
    if let Some(ms) = headers.iter().find(|(k, _)| k == ":delay-ms").and_then(|(_, v)| v.parse().ok()) {
        {
            let mut seen = s.seen.lock().unwrap();
            seen.in_flight += 1;
            seen.max_in_flight = seen.max_in_flight.max(seen.in_flight);
        }
        tokio::time::sleep(Duration::from_millis(ms)).await;
        s.seen.lock().unwrap().in_flight -= 1;
    }
    let mut resp = body.into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    for (k, v) in headers {
        // `:status` sets the response's status instead of a header.
        if k == ":delay-ms" {
            continue;
        }
        if k == ":status" {
            *resp.status_mut() = v.parse().ok().and_then(|c| StatusCode::from_u16(c).ok()).unwrap_or(StatusCode::OK);
            continue;
        }
        if let (Ok(k), Ok(v)) = (header::HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&v)) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

/// A gigabyte of spaces, streamed, never held.
async fn huge(State(s): State<AppState>, h: HeaderMap) -> Response {
    record(&s, "/huge", &h);
    let chunk = axum::body::Bytes::from(vec![b' '; 64 * 1024]);
    let stream = futures_util::stream::iter((0..16 * 1024).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    ([(header::CONTENT_TYPE, "application/xml")], Body::from_stream(stream)).into_response()
}

async fn redirect(State(s): State<AppState>, h: HeaderMap) -> Response {
    record(&s, "/redirect", &h);
    (StatusCode::FOUND, [(header::LOCATION, "/feeds/rss2-en.xml")]).into_response()
}

async fn redirect_loop(State(s): State<AppState>, h: HeaderMap) -> Response {
    record(&s, "/loop", &h);
    (StatusCode::FOUND, [(header::LOCATION, "/loop")]).into_response()
}

/// A body far over any sensible cap, streamed without a Content-Length.
async fn big(State(s): State<AppState>, h: HeaderMap) -> Response {
    record(&s, "/big", &h);
    let chunk = axum::body::Bytes::from(vec![b' '; 64 * 1024]);
    let stream = futures_util::stream::iter((0..256).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    ([(header::CONTENT_TYPE, "application/xml")], Body::from_stream(stream)).into_response()
}

/// Starts the server on an ephemeral loopback port; it lives as long as the
/// test's runtime.
pub async fn start(pause: Duration) -> FixtureServer {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let bodies = Arc::new(Mutex::new(HashMap::new()));
    let state = AppState { seen: seen.clone(), bodies: bodies.clone(), delay: pause };
    let app = Router::new()
        .route("/feeds/{file}", get(feed))
        .route("/gzip/{file}", get(gzip))
        .route("/etag/{file}", get(etag))
        .route("/utf8-lie/{file}", get(lying_charset))
        .route("/status/{code}", get(status))
        .route("/delay/{file}", get(delay))
        .route("/slow", get(slow))
        .route("/stall", get(stall))
        .route("/redirect", get(redirect))
        .route("/flaky/{n}/{file}", get(flaky))
        .route("/fresh/{name}", get(fresh))
        .route("/hub", axum::routing::post(hub))
        .route("/html/{file}", get(html_page))
        .route("/body/{name}", get(registered))
        .route("/huge", get(huge))
        .route("/html/articles/{file}", get(html_article))
        .route("/loop", get(redirect_loop))
        .route("/big", get(big))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    FixtureServer { addr, seen, bodies }
}

/// A raw TCP server on 127.0.0.1 that answers every connection with `reply`
/// and closes: for broken HTTP (a reset mid-body, a wrong Content-Length,
/// plain text where TLS was expected).
pub async fn raw_server(reply: &'static [u8]) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(reply).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    addr
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A fixed-offset zone where it is now about noon, so today's window (ending
/// 23:59 local) holds items dated minutes ago whatever the hour in UTC.
pub fn noon_zone() -> String {
    let k = 12 - chrono::Timelike::hour(&chrono::Utc::now()) as i64;
    match k {
        0 => "Etc/UTC".into(),
        k if k > 0 => format!("Etc/GMT-{k}"),
        k => format!("Etc/GMT+{}", -k),
    }
}

/// `[[source]]` tables for the offline demo's six sample feeds, by absolute path.
pub fn demo_sources_toml() -> String {
    let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("feeds/samples");
    let mut sources = String::new();
    for (name, file) in [
        ("机器之心", "jiqizhixin.xml"),
        ("量子位", "qbitai.xml"),
        ("36氪", "36kr.xml"),
        ("IT之家", "ithome-gb2312.xml"),
        ("InfoQ 中文", "infoq.json"),
        ("雷锋网", "leiphone-rdf.xml"),
        ("TechNode", "technode-en.xml"),
        ("數位時代", "bnext-zht.xml"),
    ] {
        sources.push_str(&format!("[[source]]\nname = \"{name}\"\nurl = \"{}\"\n\n", samples.join(file).display()));
    }
    sources
}

/// Writes a config, a source list and a taxonomy into `dir`.
pub fn write_config(dir: &Path, sources: &[(&str, String)], fetch: &str) -> PathBuf {
    let mut list = String::new();
    for (name, url) in sources {
        list.push_str(&format!("[[source]]\nname = \"{name}\"\nurl = \"{url}\"\n\n"));
    }
    std::fs::write(dir.join("sources.toml"), list).unwrap();
    std::fs::write(dir.join("taxonomy.toml"), "[[tag]]\nname = \"大模型\"\nkeywords = [\"大模型\", \"LLM\"]\n")
        .unwrap();
    let config = format!(
        "[site]\nbase_url = \"http://127.0.0.1/\"\ntimezone = \"Asia/Shanghai\"\n\n\
         [storage]\ndatabase = \"data/t.sqlite\"\n\n[output]\ndir = \"out\"\n\n\
         [fetch]\n{fetch}\n\n[taxonomy]\nfile = \"taxonomy.toml\"\n\n[sources]\nfile = \"sources.toml\"\n"
    );
    let path = dir.join("tidings.toml");
    std::fs::write(&path, config).unwrap();
    path
}
