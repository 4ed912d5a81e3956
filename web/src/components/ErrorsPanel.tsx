import { useApp, useUi } from '../context';

/** Stage errors of the current frame and recent command/server errors. */
export function ErrorsPanel() {
  const { model } = useApp();
  const ui = useUi();
  const current = ui.snapshot?.errors ?? [];
  return (
    <section className="card errors" aria-label="Errors" data-testid="errors-panel">
      <h2>
        Errors
        {ui.errors.length > 0 && (
          <button type="button" className="small" onClick={() => model.clearErrors()}>
            Clear
          </button>
        )}
      </h2>
      {current.length === 0 && ui.errors.length === 0 && <div className="panel-note">No errors.</div>}
      <ul className="list">
        {current.map((e) => (
          <li key={`now-${e.stage}`} className="error-now">
            <strong>{e.stage}</strong> {e.disabled ? '(disabled) ' : ''}
            {e.message} <span className="muted">×{e.consecutive}</span>
          </li>
        ))}
        {ui.errors.map((e) => (
          <li key={e.id}>
            <span className="muted mono">{new Date(e.at).toLocaleTimeString()}</span> <strong>{e.source}</strong> {e.message}
            {e.count > 1 && <span className="muted"> ×{e.count}</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}
