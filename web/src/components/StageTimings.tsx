import { useApp, useUi } from '../context';
import { Sparkline } from './Sparkline';

/** Per-stage time of recent frames, with a small chart each. */
export function StageTimings() {
  const { model } = useApp();
  const ui = useUi();
  const plugins = ui.snapshot?.active_plugins ?? [];
  return (
    <section className="card timings" aria-label="Stage timings" data-testid="stage-timings">
      <h2>Stages</h2>
      {plugins.length === 0 && <div className="panel-note">No frames processed yet.</div>}
      <table>
        <tbody>
          {plugins.map((p) => {
            const ring = model.timings.get(p.id);
            return (
              <tr key={p.id} className={p.enabled ? '' : 'disabled'} data-testid={`timing-${p.id}`}>
                <td className="name">{p.id}</td>
                <td className="mono">{p.performance_ms.toFixed(2)} ms</td>
                <td className="muted mono small">max {(ring?.max() ?? 0).toFixed(2)}</td>
                <td>
                  <Sparkline width={90} values={ring?.values() ?? []} label={`${p.id} time per frame`} />
                </td>
                {!p.enabled && <td className="badge">disabled</td>}
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
