//! An MCP bridge: an MCP server towards a host (a desktop app, an IDE, an agent) and a client
//! towards the real server, so that a host that cannot answer sampling can still use a
//! server that samples.
//!
//! - Towards the host, the bridge speaks either era (`initialize`, or `server/discover` and
//!   requests with `_meta`): it answers with the server's identity and capabilities, and
//!   passes every request and
//!   notification through, both ways: tools, resources and templates, prompts, completion,
//!   logging, pagination, progress (each token mapped to the host's own), cancellation
//!   (dropping a forwarded request cancels it at the server), `list_changed` and resource
//!   updates.
//! - Towards the server, the bridge is a [`Client`] of either era; a server that speaks only
//!   `2026-07-28` gets the MRTR loop, run by the client, so a legacy host can use it.
//! - The server always sees a client that can sample. A sampling request goes to the host
//!   when it declared `sampling` ([`SamplingMode::Auto`]; with tools only when it declared
//!   `sampling.tools`; a modern host gets it in an `input_required` round of its call), else
//!   to the bridge's own handler (the host pipeline: policy,
//!   approval, routing, audit, a model). Elicitation goes to the host when it declared it,
//!   else to the bridge's own handler, else it is declined. Roots are the host's, when it
//!   declared them, else the bridge's own.
//! - Sampling requests name the server by its configured name (`ClientOptions::name`),
//!   never only by the name it reports about itself.

mod answer;
mod host;
mod parked;

use answer::{HostSlot, ToHost};
use mcp_client::{Client, ClientError, ClientOptions, ElicitationHandler, Roots};
use mcp_proto::handler::SamplingHandler;
use mcp_proto::BoxFuture;
use mcp_rpc::Transport;
use parked::Parked;
use std::future::Future;
use std::sync::Arc;

/// Who answers the server's sampling requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SamplingMode {
    /// The host when it declared `sampling` (with tools: `sampling.tools`), else ours.
    #[default]
    Auto,
    /// Always the host; a host that did not declare sampling gets the request refused.
    Host,
    /// Always ours (the host is never asked).
    Local,
}

/// How the bridge answers what the host cannot.
#[derive(Clone)]
pub struct BridgeOptions {
    /// Who answers sampling.
    pub sampling: SamplingMode,
    /// Our own answer to sampling (the host pipeline).
    pub local: Arc<dyn SamplingHandler>,
    /// Our own answer to forms, when the host cannot; none: declined.
    pub elicitation: Option<Arc<dyn ElicitationHandler>>,
    /// Our own roots, offered when the host has none.
    pub roots: Vec<mcp_proto::roots::Root>,
    /// The client towards the server: era, timeouts, its configured name
    /// (`ClientOptions::name`). Its capabilities, handlers and notification sink are the
    /// bridge's.
    pub client: ClientOptions,
}

/// Why the bridge could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The server could not be reached or refused the handshake.
    #[error("cannot connect to the server: {0}")]
    Connect(#[from] ClientError),
    /// A root is not a `file://` URI.
    #[error("invalid root: {0}")]
    Root(#[from] mcp_proto::roots::RootError),
    /// The host connection failed.
    #[error("the host connection failed: {0}")]
    Host(String),
}

/// Opens the server side for one host (each HTTP session has its own): gets the bridge's
/// sampling handler and client options, returns the client and the child process to keep
/// alive with it, if any.
pub type Connector = Arc<
    dyn Fn(
            Arc<dyn SamplingHandler>,
            ClientOptions,
        ) -> BoxFuture<Result<(Client, Option<mcp_rpc::ChildProcess>), ClientError>>
        + Send
        + Sync,
>;

/// The bridge's answers towards `slot`'s host, and the client options that use them.
pub(crate) fn client_side(
    opts: &BridgeOptions,
    slot: Arc<HostSlot>,
    parked: Arc<Parked>,
    roots: Roots,
) -> (ToHost, ClientOptions) {
    let to_host = ToHost {
        slot: slot.clone(),
        parked,
        mode: opts.sampling,
        local: opts.local.clone(),
        elicitation: opts.elicitation.clone(),
    };
    let mut client_opts = opts.client.clone();
    // Sampling always (with tools only when ours can take them: the host's are not known
    // yet); forms always (the host's, ours, or declined); roots always.
    client_opts.capabilities =
        mcp_proto::ClientCapabilities::sampling(opts.client.capabilities.can_sample_with_tools());
    client_opts.elicitation = Some(Arc::new(to_host.clone()));
    client_opts.roots = Some(roots);
    client_opts.notifications = Some(answer::sink(slot));
    (to_host, client_opts)
}

/// A bridge: connected to its server, serving one host at a time.
pub struct Bridge {
    client: Arc<Client>,
    slot: Arc<HostSlot>,
    parked: Arc<Parked>,
    roots: Roots,
}

impl Bridge {
    /// Connects to the server: `connect` gets the client's sampling handler and options (the
    /// bridge's) and opens the connection, such as [`Client::connect`] on a child process or
    /// [`Client::connect_http`].
    pub async fn connect<F, Fut>(opts: BridgeOptions, connect: F) -> Result<Bridge, BridgeError>
    where
        F: FnOnce(Arc<dyn SamplingHandler>, ClientOptions) -> Fut,
        Fut: Future<Output = Result<Client, ClientError>>,
    {
        let slot = Arc::new(HostSlot::default());
        let parked = Arc::new(Parked::default());
        let roots = Roots::new(opts.roots.clone())?;
        let (to_host, client_opts) =
            client_side(&opts, slot.clone(), parked.clone(), roots.clone());
        let client = connect(Arc::new(to_host), client_opts).await?;
        tracing::info!(
            era = %client.era(),
            version = client.protocol_version(),
            "bridge connected to the server"
        );
        Ok(Bridge {
            client: Arc::new(client),
            slot,
            parked,
            roots,
        })
    }

    /// The client towards the server.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Serves a host on `transport` (stdio for a desktop host) until it closes.
    pub async fn serve(&self, transport: Transport) -> Result<(), BridgeError> {
        let handler = Arc::new(host::HostHandler::new(
            host::ServerSide::Ready(self.client.clone()),
            self.slot.clone(),
            self.parked.clone(),
            self.roots.clone(),
        ));
        let mut conn = transport.connect(handler, mcp_rpc::Config::default());
        let outcome = conn.finished().await.map_err(BridgeError::Host);
        self.slot.clear();
        outcome
    }

    /// Closes the connection to the server.
    pub async fn close(self) {
        match Arc::try_unwrap(self.client) {
            Ok(client) => client.close().await,
            Err(client) => client.peer().close(),
        }
    }

    /// The host side for Streamable HTTP ([`mcp_http::HttpServer::for_service`]): each host
    /// session gets its own server side, opened by `connector` on its `initialize` and
    /// closed with the session.
    pub fn http_service(
        opts: BridgeOptions,
        connector: Connector,
    ) -> Result<Arc<dyn mcp_http::Service>, BridgeError> {
        Roots::new(opts.roots.clone())?;
        Ok(Arc::new(HttpService {
            opts,
            connector,
            shared: Arc::default(),
            parked: Arc::default(),
        }))
    }
}

/// Bridges each HTTP session to its own server side.
struct HttpService {
    opts: BridgeOptions,
    connector: Connector,
    /// The server side of every modern request (they are stateless).
    shared: Arc<tokio::sync::OnceCell<host::Connected>>,
    /// Modern hosts' calls waiting for their input.
    parked: Arc<Parked>,
}

impl mcp_http::Service for HttpService {
    fn handler(&self) -> Arc<dyn mcp_rpc::Handler> {
        // Checked by `http_service`.
        let roots = Roots::new(self.opts.roots.clone()).unwrap_or_else(|_| Roots::default());
        Arc::new(host::HostHandler::new(
            host::ServerSide::Lazy(
                Box::new(self.opts.clone()),
                self.connector.clone(),
                self.shared.clone(),
            ),
            Arc::new(HostSlot::default()),
            self.parked.clone(),
            roots,
        ))
    }

    fn rpc_config(&self) -> mcp_rpc::Config {
        mcp_rpc::Config::default()
    }
}
