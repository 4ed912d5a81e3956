//! A config served in-process by the real server on 127.0.0.1 (a free port), for benchmarks
//! that measure what a browser sees through a real WebSocket client. The runtime runs on the
//! given clock, which the client reads too, so latencies are on one clock.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use framebus_core::clock::Clock;
use framebus_core::config::Config;
use framebus_core::runtime::RuntimeOptions;
use framebus_server::ServeOptions;
use tokio_util::sync::CancellationToken;

/// A running in-process server; [`Served::stop`] ends it.
pub(crate) struct Served {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    stop: CancellationToken,
    server: JoinHandle<framebus_server::Result<()>>,
}

impl Served {
    /// Serves `cfg` (paths relative to `base_dir`) on `clock`.
    pub(crate) fn start(
        cfg: Config,
        clock: Arc<dyn Clock>,
        base_dir: PathBuf,
    ) -> anyhow::Result<Self> {
        framebus_stages::link();
        framebus_media::link();
        let stop = CancellationToken::new();
        let (addr_tx, addr_rx) = crossbeam_channel::bounded(1);
        let server = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let options = ServeOptions {
                    bind: Some("127.0.0.1:0".into()),
                    token: None,
                    runtime: RuntimeOptions {
                        clock,
                        base_dir,
                        ..Default::default()
                    },
                    shutdown: Some(stop),
                };
                framebus_server::serve(&cfg, options, |addr| {
                    let _ = addr_tx.send(addr);
                })
            })
        };
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| anyhow::anyhow!("the server did not start"))?;
        Ok(Self { addr, stop, server })
    }

    /// The `/ws/stream` URL.
    pub(crate) fn stream_url(&self) -> String {
        format!("ws://{}/ws/stream", self.addr)
    }

    /// Stops serving and waits for the server thread.
    pub(crate) fn stop(self) {
        self.stop.cancel();
        let _ = self.server.join();
    }
}
