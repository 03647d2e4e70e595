//! The real server, running in the test's process on `127.0.0.1:0`.

use std::net::SocketAddr;

use loginrec_server::ServerOptions;
use loginrec_store::Store;

/// A server running in this process on `127.0.0.1:0`; [`TestServer::stop`] shuts it down
/// gracefully, and one never stopped ends with the test's runtime.
pub struct TestServer {
    pub address: SocketAddr,
    pub base_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(store: Store) -> TestServer {
        Self::start_with(store, ServerOptions { secure_cookies: false, behind_proxy: false, ..Default::default() })
            .await
    }

    pub async fn start_with(store: Store, options: ServerOptions) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(loginrec_server::serve(listener, store, options, async {
            let _ = rx.await;
        }));
        TestServer { address, base_url: format!("http://{address}"), stop: Some(tx), task: Some(task) }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}
