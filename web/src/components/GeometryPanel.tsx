import { useApp, useInteraction, useUi } from '../context';
import { formatToolValue } from '../lib/geometry';
import { readTools, type ToolType } from '../lib/results';
import { Panel } from './Panel';

const TOOLS: { type: ToolType; label: string; testId: string; help: string }[] = [
  { type: 'angle', label: '∠ Angle', testId: 'btn-add-angle', help: 'Pick three points: end, vertex, end' },
  { type: 'distance', label: '↔ Distance', testId: 'btn-add-distance', help: 'Pick two points' },
  { type: 'line_angle', label: '∡ Line angle', testId: 'btn-add-line-angle', help: 'Pick two points; angle against the horizontal' },
];

/** Geometry tools: create by picking points, see value and min/max over the window. */
export function GeometryPanel() {
  const { model, interaction } = useApp();
  const ui = useUi();
  const ix = useInteraction();
  const { geometry: target, ns } = model.tools();
  if (!model.stageByPlugin('geometry_manager')) return null;
  const tools = readTools(ui.snapshot?.results, ns.geometry);
  const send = (cmd: string, args: Record<string, unknown>) => {
    model.command(target, cmd, args).catch(() => {});
  };
  const picking = ix.mode.kind === 'pick' ? ix.mode.tool : null;
  return (
    <Panel
      title="Geometry"
      subtitle={`${tools.length}`}
      testId="geometry-panel"
      actions={
        <button type="button" className="small" data-testid="btn-clear-window" disabled={tools.length === 0} title="Reset min/max of every tool" onClick={() => send('clear_window', {})}>
          Reset min/max
        </button>
      }
    >
      <div className="button-row" role="group" aria-label="New tool">
        {TOOLS.map((t) => (
          <button
            key={t.type}
            type="button"
            data-testid={t.testId}
            title={t.help}
            aria-pressed={picking === t.type}
            className={picking === t.type ? 'active' : ''}
            disabled={ui.connection.state !== 'open'}
            onClick={() => (picking === t.type ? interaction.cancel() : interaction.startTool(t.type))}
          >
            {t.label}
          </button>
        ))}
      </div>
      {tools.length === 0 && <div className="panel-note">No tools yet.</div>}
      <ul className="tools" data-testid="tool-list">
        {tools.map((t) => (
          <li key={t.id} className="tool" data-testid={`tool-${t.id}`}>
            <div className="tool-row">
              <span className="swatch" style={{ background: t.color ?? 'var(--tool)' }} aria-hidden />
              <span className="name">{t.id}</span>
              <span className={`value mono ${t.valid ? '' : 'invalid'}`} data-testid={`tool-value-${t.id}`}>
                {formatToolValue(t.type, t.value)}
              </span>
            </div>
            <div className="tool-row small muted">
              <span className="points">{t.points.join(' – ')}</span>
              <span className="mono range" title="min … max over the window">
                {formatToolValue(t.type, t.min)} … {formatToolValue(t.type, t.max)}
              </span>
              {t.type === 'line_angle' && (
                <select
                  aria-label={`Reference of ${t.id}`}
                  value={t.reference ?? 'horizontal'}
                  onChange={(e) => send('cmd_update_tool', { id: t.id, reference: e.target.value })}
                >
                  <option value="horizontal">horizontal</option>
                  <option value="vertical">vertical</option>
                </select>
              )}
              <button type="button" className="icon" aria-label={`Reset min/max of ${t.id}`} title="Reset min/max" onClick={() => send('clear_window', { id: t.id })}>
                ↺
              </button>
              <button type="button" className="icon danger" aria-label={`Remove ${t.id}`} data-testid={`remove-${t.id}`} onClick={() => send('cmd_remove_tool', { id: t.id })}>
                ✕
              </button>
            </div>
          </li>
        ))}
      </ul>
    </Panel>
  );
}
