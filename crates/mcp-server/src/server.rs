//! [`Server`]: a built server, served on any number of connections of any transport.

use crate::dispatch::{ConnHandler, Registry};
use mcp_proto::Implementation;
use mcp_rpc::{Connection, Transport};
use std::future::Future;
use std::sync::{Arc, OnceLock};

/// An MCP server: tools, resources and prompts, served on any transport, both eras. Cheap
/// to clone. Built with `Server::builder`.
#[derive(Clone)]
pub struct Server {
    registry: Arc<Registry>,
}

/// Why serving a connection stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The connection's reader task failed (a panic in the engine).
    #[error("the connection failed: {0}")]
    Connection(String),
}

impl Server {
    pub(crate) fn from_registry(registry: Arc<Registry>) -> Server {
        Server { registry }
    }

    /// Its counters (sampling round trips), for a `/metrics` endpoint.
    pub fn metrics(&self) -> Arc<crate::metrics::Metrics> {
        self.registry.env.metrics.clone()
    }

    /// The same server sealing modern `requestState` with `key` (replicas behind one load
    /// balancer share it; see [`crate::StateKey::rotation`]), for a server built elsewhere.
    /// Only a server not yet served or cloned can take it; otherwise it comes back unchanged
    /// as the error.
    pub fn with_state_key(mut self, key: crate::StateKey) -> Result<Server, Server> {
        let env = Arc::get_mut(&mut self.registry).and_then(|r| Arc::get_mut(&mut r.env));
        match env {
            Some(env) => {
                env.key = key;
                Ok(self)
            }
            None => Err(self),
        }
    }

    /// Serves one connection until the peer's input ends (`Ok`), or until `shutdown`
    /// completes: then the connection is closed and the requests still in progress are
    /// cancelled. Pass `std::future::pending()` to serve until the peer leaves.
    pub async fn serve(
        &self,
        transport: Transport,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServeError> {
        let mut conn = self.connect(transport);
        tokio::select! {
            r = conn.finished() => r.map_err(ServeError::Connection),
            () = shutdown => {
                conn.stop().await;
                Ok(())
            }
        }
    }

    /// Starts serving one connection and returns it.
    pub fn connect(&self, transport: Transport) -> Connection {
        transport.connect(self.handler(), self.registry.env.config.rpc.clone())
    }

    /// A handler for one new connection (its own legacy session, if it opens one); for
    /// transports that start connections themselves, such as HTTP.
    pub fn handler(&self) -> Arc<dyn mcp_rpc::Handler> {
        Arc::new(ConnHandler {
            server: self.registry.clone(),
            session: OnceLock::new(),
        })
    }

    /// The engine settings of this server's connections.
    pub fn rpc_config(&self) -> mcp_rpc::Config {
        self.registry.env.config.rpc.clone()
    }

    /// The definition of the tool `name` (for transports that check arguments mirrored in
    /// headers against its input schema).
    pub fn tool(&self, name: &str) -> Option<&mcp_proto::tools::Tool> {
        self.registry.tools.get(name).map(|t| &t.def)
    }

    /// How long a modern `requestState` it seals stays valid.
    pub fn request_state_ttl(&self) -> std::time::Duration {
        self.registry.env.config.state_ttl
    }

    /// The server's name and version.
    pub fn info(&self) -> &Implementation {
        &self.registry.env.info
    }
}
