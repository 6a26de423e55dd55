//! `mcp-sampling serve NAME`: a built-in server of `mcp-examples` on stdio or Streamable HTTP.

use anyhow::Context;
use clap::builder::PossibleValuesParser;
use clap::Args;
use mcp_server::Server;
use std::process::ExitCode;

#[derive(Args)]
pub struct ServeArgs {
    /// Which server (see the list below).
    #[arg(value_parser = names())]
    name: String,
    /// Serve Streamable HTTP (both eras) on this address instead of stdio; `--http` alone
    /// is 127.0.0.1:8080 (loopback only). Port 0: any free port. The endpoint is /mcp, and
    /// `listening on http://ADDR/mcp` is printed on stderr once it accepts connections.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8080")]
    http: Option<std::net::SocketAddr>,
    /// `kb`: index this folder of Markdown/text files instead of the shipped corpus.
    #[arg(long, value_name = "DIR")]
    docs: Option<std::path::PathBuf>,
    /// `sql`: query this SQLite file (opened read-only) instead of the shipped sample;
    /// `triage`: keep tickets in this SQLite file (created if missing).
    #[arg(long, value_name = "FILE")]
    db: Option<std::path::PathBuf>,
    /// Require `Authorization: Bearer TOKEN` on HTTP (also MCP_BEARER_TOKEN).
    #[arg(long, env = "MCP_BEARER_TOKEN", hide_env_values = true)]
    bearer: Option<String>,
    /// A host name accepted in Host and Origin headers besides the loopback names
    /// (repeatable). Binding a non-loopback address without one accepts any host.
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_hosts: Vec<String>,
    /// An origin accepted exactly, e.g. `https://app.example.com` (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// The secrets that seal the modern era's `requestState`, one per line, newest first:
    /// the first seals, all open (rotate by adding a line on top, and drop the last once its
    /// states have expired). Replicas behind one load balancer share the file; without it
    /// each process has a random key of its own.
    #[arg(long, value_name = "FILE", env = "MCP_STATE_SECRET_FILE")]
    state_secret_file: Option<std::path::PathBuf>,
    /// With `--http`: share legacy sessions, the client's answers and the streams through
    /// Redis at this URL (`redis://host:6379`), so that replicas behind a load balancer
    /// without stickiness serve any request of any session; modern `requestState`s are then
    /// accepted once only. Replicas share `--state-secret-file` too.
    #[arg(long, value_name = "URL", env = "MCP_REDIS_URL", requires = "http")]
    redis: Option<String>,
    /// The prefix of the Redis keys and channels (servers sharing one Redis use different
    /// ones).
    #[arg(long, value_name = "PREFIX", default_value = "mcp", requires = "redis")]
    redis_prefix: String,
    #[command(flatten)]
    auth: AuthArgs,
}

/// OAuth resource server mode of `--http` (instead of `--bearer`).
#[derive(Args)]
pub struct AuthArgs {
    /// With `--http`: require OAuth access tokens meant for this resource, the canonical URL
    /// of the endpoint as clients reach it (`https://mcp.example.com/mcp`); tokens must name
    /// it in `aud`. Needs `--auth-issuer`.
    #[arg(long, value_name = "URL", requires_all = ["http", "auth_issuers"])]
    auth_resource: Option<String>,
    /// An authorization server whose tokens are accepted (its issuer URL; repeatable). Its
    /// keys are found through its metadata unless `--auth-jwks` names them.
    #[arg(long = "auth-issuer", value_name = "URL", requires = "auth_resource")]
    auth_issuers: Vec<String>,
    /// The JWK set of the issuer's signing keys (instead of discovering it).
    #[arg(long, value_name = "URL", requires = "auth_resource")]
    auth_jwks: Option<String>,
    /// Check tokens by introspection (RFC 7662) at this endpoint instead of as JWTs; needs
    /// `--auth-client-id` and `--auth-client-secret-env`.
    #[arg(long, value_name = "URL", requires_all = ["auth_resource", "auth_client_id", "auth_client_secret_env"], conflicts_with = "auth_jwks")]
    auth_introspect: Option<String>,
    /// This server's client id at the authorization server (introspection).
    #[arg(long, value_name = "ID", requires = "auth_introspect")]
    auth_client_id: Option<String>,
    /// The environment variable holding this server's client secret (introspection).
    #[arg(long, value_name = "VAR", requires = "auth_introspect")]
    auth_client_secret_env: Option<String>,
    /// A scope every request needs (repeatable).
    #[arg(long = "auth-scope", value_name = "SCOPE", requires = "auth_resource")]
    auth_scopes: Vec<String>,
    /// Scopes a call of one tool needs besides those, `TOOL=S1,S2` (repeatable).
    #[arg(
        long = "auth-tool-scope",
        value_name = "TOOL=SCOPES",
        requires = "auth_resource"
    )]
    auth_tool_scopes: Vec<String>,
}

impl AuthArgs {
    /// The resource server these flags describe (`None` without `--auth-resource`).
    fn resource_server(&self, name: &str) -> anyhow::Result<Option<mcp_http::ResourceServer>> {
        let Some(resource) = &self.auth_resource else {
            return Ok(None);
        };
        let validation = match &self.auth_introspect {
            Some(endpoint) => {
                let var = self.auth_client_secret_env.as_deref().unwrap_or_default();
                let client_secret = std::env::var(var).with_context(|| {
                    format!("--auth-client-secret-env: the environment variable {var} is not set")
                })?;
                mcp_http::TokenValidation::Introspection {
                    endpoint: endpoint.clone(),
                    client_id: self.auth_client_id.clone().unwrap_or_default(),
                    client_secret,
                }
            }
            None => mcp_http::TokenValidation::Jwt {
                jwks_uri: self.auth_jwks.clone(),
            },
        };
        let mut rs = mcp_http::ResourceServer::with(
            resource.clone(),
            self.auth_issuers.clone(),
            validation,
        )?;
        rs.required_scopes = self.auth_scopes.clone();
        for spec in &self.auth_tool_scopes {
            let (tool, scopes) = spec
                .split_once('=')
                .filter(|(t, s)| !t.is_empty() && !s.is_empty())
                .with_context(|| {
                    format!("--auth-tool-scope {spec:?}: expected TOOL=SCOPE1,SCOPE2")
                })?;
            let scopes = scopes
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty());
            rs.tool_scopes
                .entry(tool.to_owned())
                .or_default()
                .extend(scopes);
        }
        rs.resource_name = Some(format!("mcp-sampling {name}"));
        Ok(Some(rs))
    }
}

impl ServeArgs {
    /// Whether this serves stdio (one connection: a single-threaded runtime suits it).
    pub fn is_stdio(&self) -> bool {
        self.http.is_none()
    }
}

fn names() -> PossibleValuesParser {
    let values = mcp_examples::REGISTRY
        .iter()
        .map(|e| clap::builder::PossibleValue::new(e.name).help(e.about));
    PossibleValuesParser::new(values)
}

pub async fn run(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let example = mcp_examples::find(&a.name)
        .ok_or_else(|| anyhow::anyhow!("no built-in server {:?}", a.name))?;
    let opts = mcp_examples::Options {
        docs: a.docs.clone(),
        db: a.db.clone(),
    };
    let mut server = (example.build)(&opts).map_err(|e| anyhow::anyhow!("{}: {e}", a.name))?;
    if let Some(path) = &a.state_secret_file {
        server = server
            .with_state_key(state_key(path)?)
            .map_err(|_| anyhow::anyhow!("{}: the server is already in use", a.name))?;
    }
    match a.http {
        None => server.serve(mcp_rpc::stdio(), stop_signal()).await?,
        Some(addr) => serve_http(server, addr, &a).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The `requestState` key from a file of secrets, one per line (blank lines skipped).
fn state_key(path: &std::path::Path) -> anyhow::Result<mcp_server::StateKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the state secrets {}", path.display()))?;
    let secrets: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if let Some(short) = secrets.iter().find(|s| s.chars().count() < 16) {
        anyhow::bail!(
            "{}: a secret of {} characters is too short to seal state (16 at least)",
            path.display(),
            short.chars().count()
        );
    }
    mcp_server::StateKey::rotation(secrets)
        .with_context(|| format!("{} holds no secret", path.display()))
}

async fn serve_http(
    server: Server,
    addr: std::net::SocketAddr,
    a: &ServeArgs,
) -> anyhow::Result<()> {
    let mut cfg = http_config(addr, a.bearer.clone(), &a.allow_hosts, &a.allow_origins);
    cfg.oauth = a.auth.resource_server(&a.name)?;
    if cfg.oauth.is_some() && cfg.bearer_token.is_some() {
        anyhow::bail!(
            "--bearer (or MCP_BEARER_TOKEN) and --auth-resource are alternatives; give one"
        );
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    let path = cfg.path.clone();
    let mut http = mcp_http::HttpServer::new(server, cfg);
    if let Some(url) = &a.redis {
        let mut redis = mcp_http::RedisConfig::new(url.clone());
        redis.prefix = a.redis_prefix.clone();
        http = http.with_redis(redis).await?;
    }
    eprintln!("listening on http://{local}{path}");
    http.serve(listener, stop_signal()).await?;
    Ok(())
}

/// The HTTP settings of `serve --http` and `bridge --http`: loopback names accepted in
/// Host and Origin, plus `allow_hosts`; beyond loopback without any, every host (warned).
pub fn http_config(
    addr: std::net::SocketAddr,
    bearer: Option<String>,
    allow_hosts: &[String],
    allow_origins: &[String],
) -> mcp_http::HttpConfig {
    let mut cfg = mcp_http::HttpConfig {
        bearer_token: bearer,
        allowed_origins: allow_origins.to_vec(),
        ..Default::default()
    };
    if addr.ip().is_loopback() {
        cfg.allowed_hosts.extend(allow_hosts.iter().cloned());
    } else if allow_hosts.is_empty() {
        tracing::warn!("listening beyond loopback with no --allow-host: any Host is accepted; consider --bearer");
        cfg.allowed_hosts.clear();
    } else {
        cfg.allowed_hosts = allow_hosts.to_vec();
    }
    cfg
}

/// Ctrl-C or SIGTERM.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let argv = ["serve", "summarize", "--http", "127.0.0.1:0"]
            .iter()
            .chain(args);
        Cli::try_parse_from(argv).map(|c| c.serve)
    }

    #[test]
    fn auth_flags_make_a_resource_server() {
        let a = parse(&[
            "--auth-resource",
            "https://mcp.example.com/mcp",
            "--auth-issuer",
            "https://as.example.com",
            "--auth-scope",
            "mcp",
            "--auth-tool-scope",
            "summarize=write, admin",
        ])
        .unwrap();
        let rs = a.auth.resource_server("summarize").unwrap().unwrap();
        assert_eq!(rs.resource, "https://mcp.example.com/mcp");
        assert_eq!(rs.issuers, ["https://as.example.com"]);
        assert_eq!(rs.required_scopes, ["mcp"]);
        assert_eq!(rs.tool_scopes["summarize"], ["write", "admin"]);
        assert!(matches!(
            rs.validation,
            mcp_http::TokenValidation::Jwt { jwks_uri: None }
        ));
    }

    #[test]
    fn bad_auth_flags_are_refused() {
        // An issuer without a resource; introspection without credentials.
        assert!(parse(&["--auth-issuer", "https://as.example.com"]).is_err());
        let introspect = [
            "--auth-resource",
            "https://mcp.example.com/mcp",
            "--auth-issuer",
            "https://as.example.com",
            "--auth-introspect",
            "https://as.example.com/introspect",
        ];
        assert!(parse(&introspect).is_err());
        let a = parse(&[
            "--auth-resource",
            "https://mcp.example.com/mcp",
            "--auth-issuer",
            "http://as.example.com",
        ])
        .unwrap();
        let e = a.auth.resource_server("x").unwrap_err().to_string();
        assert!(e.contains("must use https"), "{e}");
        let a = parse(&[
            "--auth-resource",
            "https://mcp.example.com/mcp",
            "--auth-issuer",
            "https://as.example.com",
            "--auth-tool-scope",
            "nothing",
        ])
        .unwrap();
        assert!(a.auth.resource_server("x").is_err());
    }
}
