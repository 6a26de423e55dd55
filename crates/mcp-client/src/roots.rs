//! [`Roots`]: the list of roots a host exposes to its servers. Changing it notifies every
//! legacy connection that uses it (`notifications/roots/list_changed`); modern servers ask
//! again when they need it.

use mcp_proto::methods::{Notification as _, RootsListChanged};
use mcp_proto::roots::{Root, RootError};
use mcp_rpc::Peer;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;

/// A shared, changeable list of roots. Cheap to clone; clones share the list.
#[derive(Clone)]
pub struct Roots {
    tx: Arc<watch::Sender<Vec<Root>>>,
}

impl std::fmt::Debug for Roots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Roots").field(&*self.tx.borrow()).finish()
    }
}

impl Default for Roots {
    /// No roots.
    fn default() -> Self {
        Roots {
            tx: Arc::new(watch::Sender::new(Vec::new())),
        }
    }
}

impl Roots {
    /// These roots (each must be a `file://` URI).
    pub fn new(roots: Vec<Root>) -> Result<Roots, RootError> {
        for r in &roots {
            r.check()?;
        }
        Ok(Roots {
            tx: Arc::new(watch::Sender::new(roots)),
        })
    }

    /// The roots of these absolute paths.
    pub fn from_paths(paths: &[PathBuf]) -> Result<Roots, RootError> {
        let roots = paths
            .iter()
            .map(|p| Root::from_path(p))
            .collect::<Result<_, _>>()?;
        Roots::new(roots)
    }

    /// The roots now.
    pub fn list(&self) -> Vec<Root> {
        self.tx.borrow().clone()
    }

    /// Replaces the roots and notifies the legacy servers that use them.
    pub fn set(&self, roots: Vec<Root>) -> Result<(), RootError> {
        for r in &roots {
            r.check()?;
        }
        self.tx.send_replace(roots);
        Ok(())
    }

    /// Sends `notifications/roots/list_changed` on `peer` after each change, until the
    /// connection closes.
    pub(crate) fn notify_changes(&self, peer: Peer) {
        let mut rx = self.tx.subscribe();
        rx.mark_unchanged();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = rx.changed() => {
                        if changed.is_err() || peer.notify(RootsListChanged::METHOD, None).is_err() {
                            return;
                        }
                    }
                    _ = peer.closed() => return,
                }
            }
        });
    }
}
