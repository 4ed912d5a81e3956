import { useUi } from '../context';

/** fps, frame, dropped frames per edge, run state, connection. */
export function StatusBar() {
  const ui = useUi();
  const s = ui.snapshot;
  const dropped = Object.entries(s?.dropped ?? {});
  const total = dropped.reduce((sum, [, n]) => sum + n, 0);
  return (
    <footer className="statusbar" role="status" aria-label="Status">
      <span data-testid="status-connection" className={`conn conn-${ui.connection.state}`}>
        <span className={`dot dot-${ui.connection.state}`} aria-hidden /> {ui.connection.state}
      </span>
      <span data-testid="status-fps">{s ? `${s.fps.toFixed(1)} fps` : '— fps'}</span>
      <span data-testid="status-frame">frame {s?.frame_id ?? '—'}</span>
      <span data-testid="status-source">{s?.source ?? ''}</span>
      <span data-testid="status-dropped" title={dropped.map(([k, n]) => `${k}: ${n}`).join('\n') || 'no drops'}>
        dropped {total}
      </span>
      <span data-testid="status-state">{s?.state ?? ui.runState ?? '—'}</span>
    </footer>
  );
}
