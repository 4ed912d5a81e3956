import { useEffect, useState } from 'react';
import { useApp, useUi } from '../context';

/** Connection state with the reconnect countdown and a "retry now" button. */
export function ConnectionBadge() {
  const { model } = useApp();
  const { connection } = useUi();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (connection.state !== 'reconnecting') return;
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, [connection.state]);
  const secs = connection.retryAt ? Math.max(0, Math.ceil((connection.retryAt - now) / 1000)) : 0;
  const text =
    connection.state === 'open'
      ? 'Connected'
      : connection.state === 'connecting'
        ? 'Connecting…'
        : connection.state === 'reconnecting'
          ? `Reconnecting in ${secs}s`
          : 'Disconnected';
  return (
    <div className="connection" data-testid="connection-state" data-state={connection.state} role="status">
      <span className={`dot dot-${connection.state}`} aria-hidden />
      {text}
      {connection.state === 'reconnecting' && (
        <button type="button" className="link" onClick={() => model.client.reconnectNow()}>
          retry now
        </button>
      )}
    </div>
  );
}
