//! A config served in-process by the real server on 127.0.0.1 (a free port), for benchmarks
//! that measure what a browser sees through a real WebSocket client. The runtime runs on the
//! given clock, which the client reads too, so latencies are on one clock;
//! [`Served::receive`] is that client.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use framebus_core::clock::Clock;
use framebus_core::config::Config;
use framebus_core::observer::Observer;
use framebus_core::runtime::RuntimeOptions;
use framebus_server::ServeOptions;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// Longest wait for the next message before the client gives up on a stalled server.
const STALL: Duration = Duration::from_secs(5);

/// A running in-process server; [`Served::stop`] ends it.
pub(crate) struct Served {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    stop: CancellationToken,
    server: JoinHandle<framebus_server::Result<()>>,
}

impl Served {
    /// Serves `cfg` (paths relative to `base_dir`) on `clock`; `observers` see the runtime
    /// beside the server's own.
    pub(crate) fn start(
        cfg: Config,
        clock: Arc<dyn Clock>,
        base_dir: PathBuf,
        observers: Vec<Arc<dyn Observer>>,
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
                        observers,
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

    /// A real WebSocket client on `/ws/stream` for `secs` of `clock`: each text message goes
    /// to `on_text` with the clock read as it arrived. A server that sends nothing for 5 s
    /// is an error (every bench here streams snapshots many times a second).
    pub(crate) fn receive(
        &self,
        clock: &dyn Clock,
        secs: f64,
        on_text: impl FnMut(&str, u64) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.receive_subscribed(clock, secs, None, on_text)
    }

    /// [`Served::receive`], sending `subscribe` (a `subscribe` message's JSON) first when
    /// given; its `ack` goes to `on_text` like any message.
    pub(crate) fn receive_subscribed(
        &self,
        clock: &dyn Clock,
        secs: f64,
        subscribe: Option<&str>,
        mut on_text: impl FnMut(&str, u64) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let url = format!("ws://{}/ws/stream", self.addr);
        let client = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        client.block_on(async {
            let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
            if let Some(sub) = subscribe {
                ws.send(Message::Text(sub.into())).await?;
            }
            let until = clock.now_ns() + (secs * 1e9) as u64;
            while clock.now_ns() < until {
                let next = tokio::time::timeout(STALL, ws.next()).await;
                let msg = next
                    .map_err(|_| anyhow::anyhow!("no message from the server for {STALL:?}"))?
                    .ok_or_else(|| anyhow::anyhow!("the server closed the stream"))??;
                if let Message::Text(text) = msg {
                    on_text(&text, clock.now_ns())?;
                }
            }
            Ok(())
        })
    }

    /// Stops serving and waits for the server thread.
    pub(crate) fn stop(self) {
        self.stop.cancel();
        let _ = self.server.join();
    }
}
