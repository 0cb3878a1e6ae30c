//! The console's pages in real headless Chromium, driven through chromedriver (Debian's
//! `chromium` and `chromium-driver`; `scripts/ensure-deps chromium` installs them) by
//! `fantoccini`, against a real console, database and worker.
//!
//! With `HERALD_SCREENSHOTS=docs/screenshots` the run also saves a PNG of each main page
//! there (the README's screenshots).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use herald_tests::jobs::{Step, fail};
use herald_tests::metrics::free_addr;
use herald_tests::wait::{eventually, settled};
use herald_tests::workers::InProcessWorker;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::console::Console;
use crate::enqueue_scripted;

const WAIT: Duration = Duration::from_secs(60);

/// A chromedriver process and a headless Chromium session through it; both end when
/// dropped.
struct Browser {
    client: Client,
    _driver: Child,
    shots: Option<PathBuf>,
}

impl Browser {
    async fn start() -> Self {
        let addr = free_addr();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={}", addr.port()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("chromedriver: {e} (install it: scripts/ensure-deps chromium)")
            });
        let url = format!("http://{addr}");
        let status = format!("{url}/status");
        eventually("chromedriver to answer", WAIT, || {
            let status = status.clone();
            async move { reqwest::get(&status).await.ok().map(|_| ()) }
        })
        .await;
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900"],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("a Chromium session: {e}"));
        let shots = std::env::var_os("HERALD_SCREENSHOTS").map(|dir| {
            // Relative to the repository, not to the test crate's directory.
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(dir);
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            dir
        });
        Self {
            client,
            _driver: driver,
            shots,
        }
    }

    async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// Waits for `css` to exist; returns its text.
    async fn text(&self, css: &str) -> String {
        let element = self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"));
        element
            .text()
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    /// Waits until `css`'s text satisfies `ok`; returns it.
    async fn text_until(&self, css: &str, ok: impl Fn(&str) -> bool) -> String {
        eventually(&format!("{css} to read as expected"), WAIT, || async {
            let found = self.client.find(Locator::Css(css)).await.ok()?;
            let text = found.text().await.ok()?;
            ok(&text).then_some(text)
        })
        .await
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.text(css).await;
        let element = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
    }

    async fn click(&self, css: &str) {
        self.text(css).await;
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    async fn run(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Saves a screenshot as `name.png` when `HERALD_SCREENSHOTS` is set.
    async fn shot(&self, name: &str) {
        if let Some(dir) = &self.shots {
            let png = self
                .client
                .screenshot()
                .await
                .unwrap_or_else(|e| panic!("screenshot: {e}"));
            let path = dir.join(format!("{name}.png"));
            std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }

    /// Logs in through the login form.
    async fn log_in(&self, console: &Console, user: &str, password: &str) {
        self.goto(&console.url("/")).await;
        self.type_into("#username", user).await;
        self.type_into("#password", password).await;
        self.shot("login").await;
        self.click("#login button[type=submit]").await;
        self.text_until("#who", |t| t.starts_with(user)).await;
    }

    async fn finish(self) {
        let _ = self.client.close().await;
    }
}

/// The number in the cell `css`.
fn number(text: &str) -> i64 {
    text.trim().parse().unwrap_or(-1)
}

#[tokio::test]
async fn an_operator_replays_a_failure_group_after_its_count_and_the_jobs_leave_dead() {
    let console = Console::start().await;
    let password = console.add_user("olga", "operator").await;
    let pool = &console.db.pool;
    // Dead at the first attempt; a replay's attempt succeeds.
    let mut dead = Vec::new();
    for n in 0..3 {
        dead.push(
            enqueue_scripted(
                pool,
                &format!("order-{n}"),
                vec![fail("NOT_FOUND"), Step::Succeed],
                1,
            )
            .await,
        );
    }
    let hostile_key = r#"<img src=x onerror="window.pwned=1"> "><script>window.pwned=2</script>"#;
    let hostile = enqueue_scripted(pool, hostile_key, vec![Step::Succeed], 1).await;
    let worker = InProcessWorker::start(&console.db, "browser-w1", &[]).await;
    let mut all = dead.clone();
    all.push(hostile);
    settled(pool, &all, WAIT).await;

    let browser = Browser::start().await;
    browser.log_in(&console, "olga", &password).await;
    browser.text("#overview-body .stats").await;
    browser.shot("overview").await;

    browser.goto(&console.url("/#/failures")).await;
    let row = "#failures tbody tr";
    browser.text_until(row, |t| t.contains("NOT_FOUND")).await;
    browser.click(&format!("{row} button.replay-group")).await;
    let count = browser.text("#dry-run-count").await;
    assert_eq!(
        number(&count),
        3,
        "the dry run counts the group's dead jobs"
    );
    let still_dead: i64 =
        sqlx::query_scalar("SELECT count(*) FROM herald.jobs WHERE state = 'dead'")
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(still_dead, 3, "a dry run changes nothing");
    browser.type_into("#reason", "upstream fixed").await;
    browser.shot("failures").await;
    browser.click("#confirm-action").await;
    browser
        .text_until("#action-result", |t| t.contains("Replayed 3 jobs"))
        .await;

    // The jobs leave `dead`, as the jobs page shows.
    eventually("the replayed jobs to leave dead", WAIT, || async {
        browser
            .run("location.hash = '#/jobs?state=dead&at=' + Date.now(); return null")
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let rows = browser
            .run("return document.querySelectorAll('#jobs tbody tr').length")
            .await;
        let shown = browser
            .run("return !!document.querySelector('#job-filter')")
            .await;
        (rows == json!(0) && shown == json!(true)).then_some(())
    })
    .await;
    settled(pool, &dead, WAIT).await;
    browser.goto(&console.url("/#/jobs")).await;
    browser
        .text_until("#jobs tbody", |t| t.contains("succeeded"))
        .await;
    browser.shot("jobs").await;

    // A job's trail: the dead attempt, the replay by olga with its reason, the success.
    browser
        .goto(&console.url(&format!("/#/jobs/{}", dead[0])))
        .await;
    let trail = browser
        .text_until("#trail tbody", |t| t.contains("attempt 2"))
        .await;
    for part in [
        "attempt 1",
        "dead",
        "NOT_FOUND",
        "replay",
        "by olga",
        "upstream fixed",
        "succeeded",
    ] {
        assert!(trail.contains(part), "{part} not in the trail:\n{trail}");
    }
    browser.shot("job").await;

    // Hostile text renders as text.
    browser
        .goto(&console.url(&format!("/#/jobs/{hostile}")))
        .await;
    let payload = browser
        .text_until("#payload", |t| t.contains("onerror"))
        .await;
    assert!(
        payload.contains(r#"<img src=x onerror=\"window.pwned=1\">"#),
        "{payload}"
    );
    assert_eq!(
        browser
            .run("return [document.querySelectorAll('main img, main script').length, window.pwned === undefined]")
            .await,
        json!([0, true])
    );

    browser.goto(&console.url("/#/actions")).await;
    browser
        .text_until("#actions tbody", |t| t.contains("olga"))
        .await;
    browser.shot("actions").await;
    browser.goto(&console.url("/#/queues")).await;
    browser.text("#queues").await;
    browser.shot("queues").await;
    browser.finish().await;
    worker.stop().await;
    console.finish().await;
}

#[tokio::test]
async fn the_overview_updates_live_as_jobs_finish() {
    let console = Console::start().await;
    let password = console.add_user("vera", "viewer").await;
    let browser = Browser::start().await;
    browser.log_in(&console, "vera", &password).await;
    browser.text_until("#stream-state", |t| t == "live").await;
    assert_eq!(number(&browser.text("#live-count").await), 0);
    // A mark on this page: gone if anything reloaded it.
    browser.run("window.herald_mark = 7; return null").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            enqueue_scripted(
                &console.db.pool,
                &format!("live-{n}"),
                vec![Step::Succeed],
                1,
            )
            .await,
        );
    }
    ids.push(enqueue_scripted(&console.db.pool, "live-dead", vec![fail("NOT_FOUND")], 1).await);
    let worker = InProcessWorker::start(&console.db, "browser-w2", &[]).await;
    browser.text_until("#live-count", |t| number(t) == 6).await;
    browser
        .text_until("#stat-attempts", |t| number(t) == 6)
        .await;
    let feed = browser.text("#live-feed").await;
    assert!(
        feed.contains("succeeded") && feed.contains("dead"),
        "{feed}"
    );
    assert_eq!(browser.run("return window.herald_mark").await, json!(7));
    browser.shot("overview-live").await;
    browser.finish().await;
    worker.stop().await;
    console.finish().await;
}
