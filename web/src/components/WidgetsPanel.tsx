import { useApp, useUi } from '../context';
import { readBlobCount } from '../lib/results';

/** Live numbers: blob count, the stages' widgets and signals. */
export function WidgetsPanel() {
  const { model } = useApp();
  const ui = useUi();
  const s = ui.snapshot;
  const count = readBlobCount(s?.results, model.tools().ns.blobs);
  // Signals already shown as a widget (`stage.tool` for signal `tool`) or as the blob count are skipped.
  const widgetIds = (s?.widgets ?? []).map((w) => w.id);
  const signals = Object.entries(s?.signals ?? {}).filter(
    ([k]) => k !== 'blob_count' && !widgetIds.some((id) => id === k || id.endsWith(`.${k}`)),
  );
  return (
    <section className="card widgets" aria-label="Measurements" data-testid="widgets">
      <h2>Measurements</h2>
      <div className="tiles">
        {count !== null && (
          <div className="tile">
            <div className="tile-label">Blobs</div>
            <div className="tile-value" data-testid="blob-count">
              {count}
            </div>
          </div>
        )}
        {(s?.widgets ?? []).map((w) => (
          <div className="tile" key={w.id} data-testid={`widget-${w.id}`}>
            <div className="tile-label">{w.label}</div>
            <div className="tile-value">
              {w.value === null ? '—' : w.value.toFixed(1)}
              <span className="unit">{w.unit}</span>
            </div>
            {(w.min !== null || w.max !== null) && (
              <div className="tile-range">
                {w.min?.toFixed(1) ?? '—'} … {w.max?.toFixed(1) ?? '—'}
              </div>
            )}
          </div>
        ))}
        {signals.map(([k, v]) => (
          <div className="tile" key={k} data-testid={`signal-${k}`}>
            <div className="tile-label">{k}</div>
            <div className="tile-value">{Number.isInteger(v) ? v : v.toFixed(2)}</div>
          </div>
        ))}
        {count === null && (s?.widgets.length ?? 0) === 0 && signals.length === 0 && <div className="panel-note">Nothing measured yet.</div>}
      </div>
    </section>
  );
}
