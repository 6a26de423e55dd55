//! The accept loop: each connection is served by hyper's HTTP/1 with a deadline for the
//! request head (slowloris: a client that sends its headers byte by byte, or an idle
//! keep-alive connection, is cut off when it passes), watched for graceful shutdown.
//!
//! axum's own `serve` sets no timer, so hyper's head deadline never ran; the loop is ours
//! for that one setting. The body's deadline is the handler's (`post`).

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::time::Duration;
use tokio::net::TcpListener;

/// Accepts connections on `listener` and serves `router` on each until `shutdown` resolves;
/// returns the connections still open, to shut down gracefully.
pub(crate) async fn accept_until(
    listener: TcpListener,
    router: axum::Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) -> GracefulShutdown {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let service = TowerToHyperService::new(router);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small SSE events and 202s go out at once (Nagle's algorithm held them back, which
        // cost ~4x at 32 sampling requests in flight).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
        let conn = http.serve_connection(TokioIo::new(tcp), service.clone());
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
    graceful
}

/// Serves any axum `router` on `listener` the way [`crate::HttpServer::serve`] serves MCP:
/// HTTP/1 with a deadline for each request head (`header_timeout`: a slowloris client is cut
/// off), until `shutdown` resolves; then waits up to `grace` for the connections still open.
/// (The web console uses it.)
pub async fn serve_router(
    listener: TcpListener,
    router: axum::Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()>,
    grace: Duration,
) {
    let open = accept_until(listener, router, header_timeout, shutdown).await;
    if tokio::time::timeout(grace, open.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the shutdown grace period; stopping");
    }
}

/// After a failed `accept`: nothing for errors of that one connection; a pause for the
/// others (out of file descriptors, say), which would otherwise spin.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!("accepting a connection failed: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
