//! Where the cache listens: loopback from the start (mmdebstrap on this machine), then
//! each address where the run's containers reach this machine (a network's gateway),
//! added once that address is known — all on the same port, which apt is given.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::proxy;

/// The cache's listeners, one server task each; all stop with the cache.
pub(super) struct ListenerSet {
    port: u16,
    shared: Arc<proxy::Shared>,
    servers: std::sync::Mutex<Servers>,
}

#[derive(Default)]
struct Servers {
    stopped: bool,
    tasks: HashMap<IpAddr, tokio::task::JoinHandle<()>>,
    /// Notices given, each said once (every build asks for its address again).
    noticed: std::collections::HashSet<String>,
}

impl ListenerSet {
    /// Serve `listener` (already bound, on `port`), and any address added later.
    pub(super) fn start(
        listener: tokio::net::TcpListener,
        port: u16,
        shared: Arc<proxy::Shared>,
    ) -> std::io::Result<Arc<ListenerSet>> {
        let ip = listener.local_addr()?.ip();
        let set = ListenerSet {
            port,
            shared: shared.clone(),
            servers: Default::default(),
        };
        set.lock()
            .tasks
            .insert(ip, tokio::spawn(proxy::serve(listener, shared)));
        Ok(Arc::new(set))
    }

    fn listen_on(&self, ip: IpAddr) -> Result<(), ListenError> {
        let address = SocketAddr::new(ip, self.port);
        let mut servers = self.lock();
        if servers.stopped {
            return Err(ListenError::Stopped { address });
        }
        if servers.tasks.contains_key(&ip) {
            return Ok(());
        }
        let listen = |source| ListenError::Bind { address, source };
        let listener = std::net::TcpListener::bind(address).map_err(listen)?;
        listener.set_nonblocking(true).map_err(listen)?;
        let listener = tokio::net::TcpListener::from_std(listener).map_err(listen)?;
        let task = tokio::spawn(proxy::serve(listener, self.shared.clone()));
        servers.tasks.insert(ip, task);
        Ok(())
    }

    /// Abort every server; no address can be added after.
    pub(super) fn stop(&self) {
        let mut servers = self.lock();
        servers.stopped = true;
        for (_, task) in servers.tasks.drain() {
            task.abort();
        }
    }

    #[cfg(test)]
    pub(super) fn shared(&self) -> &proxy::Shared {
        &self.shared
    }

    fn addresses(&self) -> Vec<IpAddr> {
        let mut addresses: Vec<IpAddr> = self.lock().tasks.keys().copied().collect();
        addresses.sort();
        addresses
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Servers> {
        self.servers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for ListenerSet {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A handle to the cache's listeners, carried in the settings given to apt's callers
/// ([`super::AptProxy::Builtin`]) so that they add the address their containers reach
/// this machine at. Two handles are equal when they are the same cache's.
#[derive(Clone)]
pub struct Listeners(Option<Arc<ListenerSet>>);

impl Listeners {
    pub(super) fn of(set: &Arc<ListenerSet>) -> Listeners {
        Listeners(Some(set.clone()))
    }

    /// A handle to no cache, for settings made by hand in tests: adds no listener.
    #[cfg(test)]
    pub(crate) fn detached() -> Listeners {
        Listeners(None)
    }

    /// Listen on `ip` too, on the cache's port; nothing to do if it does already.
    pub fn listen_on(&self, ip: IpAddr) -> Result<(), ListenError> {
        match &self.0 {
            Some(set) => set.listen_on(ip),
            None => Ok(()),
        }
    }

    /// Pass `text` on with the cache's notices (the cache never prints), once.
    pub fn notice(&self, text: String) {
        if let Some(set) = &self.0
            && set.lock().noticed.insert(text.clone())
        {
            set.shared.stats.notice(text);
        }
    }
}

impl PartialEq for Listeners {
    fn eq(&self, other: &Listeners) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl Eq for Listeners {}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(set) => f.debug_tuple("Listeners").field(&set.addresses()).finish(),
            None => f.write_str("Listeners(detached)"),
        }
    }
}

/// Why the cache cannot listen where containers reach this machine.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error(
        "the package cache cannot listen on `{address}`, where containers reach this machine: {source} \
         (an engine running rootless or in a virtual machine has its gateway elsewhere: pass \
         `--apt-proxy URL` with a proxy its containers reach, or `--no-apt-cache`)"
    )]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the package cache has stopped: it cannot listen on `{address}`")]
    Stopped { address: SocketAddr },
}
