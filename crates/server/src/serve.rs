//! [`serve`]: everything `framebus demo` and `framebus run` need to serve a config: start the
//! runtime with a [`Hub`], bind, report the address, serve until SIGINT/SIGTERM (or a token),
//! send close frames, then drain and stop the runtime, and finish recordings and clips.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use framebus_core::config::{Config, ServerConfig};
use framebus_core::runtime::{Runtime, RuntimeOptions};
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::{AppState, Hub, PreviewSettings, security};

/// Options of [`serve`].
#[derive(Default)]
pub struct ServeOptions {
    /// Overrides `[server] bind` (`ADDR:PORT`; port 0 picks a free one).
    pub bind: Option<String>,
    /// Overrides `[server] token`.
    pub token: Option<String>,
    /// Runtime options (clock, frame limit, extra observers, base directory). The hub's
    /// observer is added to `observers`.
    pub runtime: RuntimeOptions,
    /// Cancel to stop serving (besides SIGINT/SIGTERM).
    pub shutdown: Option<CancellationToken>,
}

/// The server settings in force: `[server]` (or defaults) with the overrides applied.
pub fn settings(config: &Config, options: &ServeOptions) -> ServerConfig {
    let mut s = config.server.clone().unwrap_or_default();
    if let Some(b) = &options.bind {
        s.bind = b.clone();
    }
    if let Some(t) = &options.token {
        s.token = Some(t.clone());
    }
    s
}

/// Resolves `ADDR:PORT` (names such as `localhost` too) to one socket address.
pub fn resolve(bind: &str) -> Result<SocketAddr> {
    bind.to_socket_addrs()
        .map_err(|e| Error::Settings(format!("cannot use bind address `{bind}`: {e}")))?
        .next()
        .ok_or_else(|| Error::Settings(format!("bind address `{bind}` resolves to nothing")))
}

/// SIGINT and SIGTERM streams, registered (handlers installed) when made; signals that
/// arrive before [`Signals::wait`] is polled are kept.
struct Signals {
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Installs the handlers (inside a Tokio runtime).
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                int: signal(SignalKind::interrupt()).ok(),
                term: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Waits for either signal.
    #[cfg(unix)]
    async fn wait(mut self) {
        async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            _ = recv(&mut self.int) => {}
            _ = recv(&mut self.term) => {}
        }
    }

    /// Waits for Ctrl-C.
    #[cfg(not(unix))]
    async fn wait(self) {
        shutdown_signal().await
    }
}

/// Waits for SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// Starts `config`'s runtime and serves it until SIGINT/SIGTERM (or `options.shutdown`).
/// `on_listening` is called once the socket is bound, with the real address. On shutdown,
/// WebSocket clients get a close frame, then the pipelines drain and every thread is joined.
pub fn serve(
    config: &Config,
    mut options: ServeOptions,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<()> {
    let settings = settings(config, &options);
    let addr = resolve(&settings.bind)?;
    security::check_bind(&addr, settings.token.as_deref()).map_err(Error::Settings)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("framebus-server")
        .build()?;
    // Bind before starting the pipelines: a taken port starts nothing.
    let listener = rt.block_on(tokio::net::TcpListener::bind(addr))?;
    let hub = Hub::new(
        config.sources.len(),
        PreviewSettings {
            quality: settings.preview_quality.clamp(1, 100),
            ..PreviewSettings::default()
        },
    );
    options.runtime.observers.push(hub.observer());
    let recorder = Arc::new(
        framebus_media::Recorder::new(config, vec![hub.observer()])
            .map_err(|e| Error::Settings(format!("cannot start the recorder: {e}")))?,
    );
    options.runtime.observers.push(recorder.clone());
    let clock = options.runtime.clock.clone();
    let runtime = Arc::new(Runtime::start(config, options.runtime)?);
    let state = AppState::new(runtime.clone(), hub, settings)
        .with_recorder(recorder.clone())
        .with_clock(clock);
    let token = options.shutdown.unwrap_or_default();
    // The signal handlers are installed before the address is announced, so a SIGTERM sent
    // as soon as a client sees the server is a clean shutdown, never the default death.
    let signals = rt.block_on(async { Signals::install() });
    on_listening(listener.local_addr()?);
    let served = rt.block_on(async {
        let signal_token = token.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = signals.wait() => signal_token.cancel(),
                _ = signal_token.cancelled() => {}
            }
        });
        crate::run(listener, state, token).await
    });
    rt.shutdown_timeout(Duration::from_secs(1));
    // The state (and with it the other runtime handles) went with the tasks.
    match Arc::try_unwrap(runtime) {
        Ok(runtime) => runtime.shutdown(),
        Err(shared) => drop(shared),
    }
    // Every frame has been handed over: finish the recording and clips in progress.
    recorder.close();
    served.map_err(Error::from)
}
