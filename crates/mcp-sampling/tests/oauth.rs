//! OAuth 2.1 end to end, with real processes: our server (`serve summarize --http` as an
//! OAuth resource server), a real authorization server (tests/common/oauth_as.rs: metadata,
//! registration, PKCE, JWT access tokens, refresh), and our CLI as the client. The browser is
//! a scripted user agent: an `xdg-open` on PATH that follows the authorization URL's
//! redirects to the CLI's loopback listener, as a browser whose user approves would.

mod common;

use common::oauth_as::AuthServer;
use common::Listening;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LONG: &str = "One sentence here. Another one follows. A third makes the point. A fourth adds colour. \
A fifth is long enough to pass the limit for short text, which is about two hundred and eighty characters. \
A sixth sentence closes the paragraph. A seventh one is here only to make sure of the length. \
And an eighth, for good measure, ends it.";

/// A scratch home: the data directory (tokens, audit) and the fake browser.
struct Home {
    dir: PathBuf,
}

impl Home {
    fn new(name: &str) -> Home {
        let dir = std::env::temp_dir().join(format!("mcp-oauth-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let browser = dir.join("bin/xdg-open");
        // The scripted user agent: follows the redirects (to our loopback listener) and
        // notes each URL it was given.
        let script = format!(
            "#!/usr/bin/env python3\nimport sys, urllib.request\nopen({log:?}, 'a').write(sys.argv[1] + '\\n')\nurllib.request.urlopen(sys.argv[1], timeout=20).read()\n",
            log = dir.join("opened.log").display().to_string()
        );
        std::fs::write(&browser, script).unwrap();
        set_mode(&browser, 0o755);
        Home { dir }
    }

    fn cli(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-sampling"));
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.env("XDG_DATA_HOME", self.dir.join("data"))
            .env("PATH", path)
            .env_remove("MCP_BEARER_TOKEN");
        cmd
    }

    fn opened(&self) -> usize {
        std::fs::read_to_string(self.dir.join("opened.log"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    fn token_file(&self) -> PathBuf {
        let dir = self.dir.join("data/mcp-sampling/oauth");
        let files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files[0].clone()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(unix)]
fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Our server, protected by `issuer`, needing `mcp:tools`.
fn protected_server(issuer: &str) -> Listening {
    let port = common::free_port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-sampling"));
    cmd.args(["serve", "summarize", "--http", &format!("127.0.0.1:{port}")])
        .args(["--auth-resource", &url, "--auth-issuer", issuer])
        .args(["--auth-scope", "mcp:tools"]);
    Listening::start(cmd, port)
}

fn call(home: &Home, url: &str) -> Output {
    let args = serde_json::json!({"text": LONG, "sentences": 1}).to_string();
    home.cli()
        .args([
            "--log",
            "trace",
            "call",
            "--url",
            url,
            "--tool",
            "summarize",
        ])
        .args([
            "--args",
            &args,
            "--approve",
            "auto",
            "--provider",
            "fixed:x",
        ])
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every file under `dir`, except the token store, must not contain `secret`.
fn assert_nowhere(dir: &Path, secret: &str) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.ends_with("oauth") {
            continue;
        }
        if p.is_dir() {
            assert_nowhere(&p, secret);
        } else {
            let bytes = std::fs::read(&p).unwrap();
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "a token is in {}", p.display());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_in_the_browser_then_calls_use_and_refresh_the_tokens() {
    let auth = AuthServer::start().await;
    let server = protected_server(&auth.issuer);
    let home = Home::new("login");

    // Without a token the call would need the browser: `auth login` does it first.
    let login = home
        .cli()
        .args(["auth", "login", &server.url])
        .output()
        .unwrap();
    assert!(login.status.success(), "{}", text(&login));
    let out = String::from_utf8_lossy(&login.stdout);
    assert!(
        out.contains(&format!("authorized by {}", auth.issuer)),
        "{out}"
    );
    assert!(
        out.contains("mcp:tools") && out.contains("refreshable"),
        "{out}"
    );
    assert_eq!(home.opened(), 1);
    {
        let r = auth.record.lock().unwrap();
        assert_eq!(r.registrations, 1);
        let q = &r.authorizations[0];
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["resource"], server.url);
        assert!(q["scope"].split(' ').any(|s| s == "mcp:tools"), "{q:?}");
        assert!(q["redirect_uri"].starts_with("http://127.0.0.1:"), "{q:?}");
    }
    let file = home.token_file();
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);

    // A call uses the kept token: no browser.
    let o = call(&home, &server.url);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(home.opened(), 1);

    // The kept access token no longer works (revoked): the refresh token gets a new one,
    // still without the browser.
    let mut kept: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    kept["tokens"]["access_token"] = "revoked".into();
    std::fs::write(&file, kept.to_string()).unwrap();
    let o = call(&home, &server.url);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(home.opened(), 1, "the refresh token, not the browser");
    let grants = auth.record.lock().unwrap().grants.clone();
    assert_eq!(grants, ["authorization_code", "refresh_token"]);
    assert_eq!(mode(&file), 0o600, "rewritten owner-only");

    // No token text in what the CLI printed (at trace level) or wrote outside the store.
    let issued = auth.record.lock().unwrap().issued.clone();
    for t in &issued {
        for o in [&login, &o] {
            assert!(!text(o).contains(t.as_str()), "a token was printed");
        }
        assert_nowhere(&home.dir.join("data"), t);
    }
    let status = home.cli().args(["auth", "status"]).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.contains(&server.url), "{status}");
    for t in &issued {
        assert!(!status.contains(t.as_str()));
    }

    let logout = home
        .cli()
        .args(["auth", "logout", &server.url])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&logout.stdout).contains("forgotten"));
    let status = home
        .cli()
        .args(["auth", "status", &server.url])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains("not authorized"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_with_a_wrong_state_is_refused() {
    let auth = AuthServer::start().await;
    auth.record.lock().unwrap().tamper_state = true;
    let server = protected_server(&auth.issuer);
    let home = Home::new("state");
    let login = home
        .cli()
        .args(["auth", "login", &server.url])
        .output()
        .unwrap();
    assert!(!login.status.success(), "{}", text(&login));
    let err = String::from_utf8_lossy(&login.stderr);
    assert!(err.contains("state does not match"), "{err}");
    assert!(
        !auth
            .record
            .lock()
            .unwrap()
            .grants
            .iter()
            .any(|g| g == "authorization_code"),
        "the code of a forged redirect must not be exchanged"
    );
    // And a call does not go through with it either.
    let o = call(&home, &server.url);
    assert!(!o.status.success(), "{}", text(&o));
}
