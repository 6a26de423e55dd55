//! `mcp-sampling auth login|logout|status`: OAuth 2.1 authorizations kept per server in the
//! user's data directory (`mcp_client::oauth::TokenStore`), and the OAuth authorizer that
//! `call --url`, `bridge --url` and the config's HTTP servers use when no token is given:
//! what `auth login` kept, refreshed or renewed as the server asks, in the user's browser.

use anyhow::Context;
use clap::{Args, Subcommand};
use mcp_client::oauth::{
    store_key, Browser, Grant, OAuth, OAuthConfig, PreRegistered, Saved, TokenStore,
};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The client name given to authorization servers that register clients.
const CLIENT_NAME: &str = "mcp-sampling";

#[derive(Args)]
pub struct AuthArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Authorize with a server now, in the browser (or with client credentials), and keep
    /// the tokens for later `call`, `bridge` and `host` runs.
    Login(LoginArgs),
    /// Forget a server's tokens and client registrations.
    Logout {
        /// The server's MCP endpoint URL.
        url: String,
    },
    /// What is kept: for one server, or for all.
    Status {
        /// The server's MCP endpoint URL (default: every server with something kept).
        url: Option<String>,
    },
}

#[derive(Args)]
struct LoginArgs {
    /// The server's MCP endpoint URL.
    url: String,
    /// A client id registered with the authorization server beforehand (default: the
    /// server's client ID metadata documents or dynamic registration).
    #[arg(long)]
    client_id: Option<String>,
    /// The environment variable holding that client's secret (never on the command line).
    #[arg(long, value_name = "VAR", requires = "client_id")]
    client_secret_env: Option<String>,
    /// Use the client credentials grant (a machine acting for itself, no browser).
    #[arg(long, requires = "client_id")]
    client_credentials: bool,
    /// A scope to ask for (repeatable; default: what the server says it needs).
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// The loopback redirect's port (default: any free one).
    #[arg(long, default_value_t = 0)]
    redirect_port: u16,
    /// A client ID metadata document URL to use as client id where the server supports it.
    #[arg(long, value_name = "URL")]
    client_metadata_url: Option<String>,
}

pub async fn run(a: AuthArgs) -> anyhow::Result<ExitCode> {
    let store = TokenStore::in_data_dir()?;
    act(a.action, store).await.map(|()| ExitCode::SUCCESS)
}

async fn act(action: Action, store: TokenStore) -> anyhow::Result<()> {
    match action {
        Action::Login(l) => login(l, store).await,
        Action::Logout { url } => {
            // Straight from the store: a damaged record can be forgotten too.
            if store.remove(&store_key(&url)?)? {
                println!("{url}: forgotten");
            } else {
                println!("{url}: nothing was kept");
            }
            Ok(())
        }
        Action::Status { url: Some(url) } => {
            match store.load(&store_key(&url)?)? {
                Some(s) => println!("{}", describe(&s)),
                None => println!("{url}: not authorized"),
            }
            Ok(())
        }
        Action::Status { url: None } => {
            let all = store.list()?;
            if all.is_empty() {
                println!("no server is authorized");
            }
            for s in all {
                println!("{}", describe(&s));
            }
            Ok(())
        }
    }
}

async fn login(l: LoginArgs, store: TokenStore) -> anyhow::Result<()> {
    let mut cfg = config(store)?;
    if let Some(id) = l.client_id {
        let secret = match &l.client_secret_env {
            Some(var) => Some(
                std::env::var(var)
                    .with_context(|| format!("{var} (--client-secret-env) is not set"))?,
            ),
            None => None,
        };
        cfg.client = Some(PreRegistered {
            client_id: id,
            client_secret: secret,
            issuer: None,
        });
    }
    if l.client_credentials {
        cfg.grant = Grant::ClientCredentials { key: None };
    }
    if !l.scopes.is_empty() {
        cfg.scopes = Some(l.scopes);
    }
    cfg.redirect_port = l.redirect_port;
    cfg.client_metadata_url = l.client_metadata_url;
    let oauth = OAuth::new(&l.url, cfg)?;
    oauth
        .login()
        .await
        .with_context(|| format!("cannot authorize with {}", l.url))?;
    let saved = Saved {
        server: l.url.clone(),
        tokens: oauth.tokens(),
        ..Saved::default()
    };
    println!("{}", describe(&saved));
    Ok(())
}

/// The browser flow, kept in `store`.
fn config(store: TokenStore) -> anyhow::Result<OAuthConfig> {
    let mut cfg = OAuthConfig::browser(CLIENT_NAME)?;
    cfg.store = Some(store);
    Ok(cfg)
}

/// The authorizer for a server opened by URL without a token of the user's: what `auth
/// login` kept, renewed in the browser when the server asks. When the store cannot be used
/// (no home directory, a damaged record) it says so and keeps this run's tokens in memory: a
/// server that needs no authorization must not fail for it.
pub fn authorizer(url: &str) -> anyhow::Result<Arc<OAuth>> {
    let kept = OAuthConfig::browser(CLIENT_NAME).and_then(|cfg| OAuth::new(url, cfg));
    let oauth = match kept {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!("OAuth tokens for {url} will not be kept: {e}");
            let mut cfg = OAuthConfig::with_agent(CLIENT_NAME, Arc::new(Browser));
            cfg.store = None;
            OAuth::new(url, cfg).with_context(|| format!("cannot set up OAuth for {url}"))?
        }
    };
    Ok(Arc::new(oauth))
}

/// One line on what is kept for a server; never a token.
fn describe(s: &Saved) -> String {
    let Some(t) = &s.tokens else {
        return format!("{}: not authorized", s.server);
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let expiry = match t.expires_at {
        Some(at) if at <= now => "expired".to_owned(),
        Some(at) => format!("expires in {} min", (at - now).div_ceil(60)),
        None => "no expiry given".to_owned(),
    };
    format!(
        "{}: authorized by {} (scopes: {}; {}; {}; {} token)",
        s.server,
        t.issuer,
        t.scope.as_deref().unwrap_or("none"),
        expiry,
        if t.refresh_token.is_some() {
            "refreshable"
        } else {
            "no refresh token"
        },
        if t.dpop_key.is_some() {
            "DPoP-bound"
        } else {
            "bearer"
        },
    )
}
