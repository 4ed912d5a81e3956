import { useApp, useInteraction, useUi } from '../context';
import { readMarkers } from '../lib/results';
import { Panel } from './Panel';

/** Markers: list, select, label, attach to a blob, delete, clear. */
export function MarkersPanel() {
  const { model, interaction } = useApp();
  const ui = useUi();
  const ix = useInteraction();
  const { markers: target, ns } = model.tools();
  if (!model.stageByPlugin('marker_manager')) return null;
  const markers = readMarkers(ui.snapshot?.results, ns.markers);
  const send = (cmd: string, args: Record<string, unknown>) => {
    model.command(target, cmd, args).catch(() => {});
  };
  const rename = (id: string, current: string) => {
    const label = window.prompt(`Label for marker ${id}`, current);
    if (label !== null && label.trim() && label !== current) send('label_marker', { id, label: label.trim() });
  };
  return (
    <Panel
      title="Markers"
      subtitle={`${markers.length}`}
      testId="markers-panel"
      actions={
        <button type="button" className="small" data-testid="btn-clear-markers" disabled={markers.length === 0} onClick={() => send('clear_markers', {})}>
          Clear
        </button>
      }
    >
      <label className="check">
        <input type="checkbox" data-testid="toggle-attach-new" checked={ix.attachNew} onChange={(e) => interaction.setAttachNew(e.target.checked)} />
        Attach new markers to the nearest blob
      </label>
      {markers.length === 0 && <div className="panel-note">Click the video to add a marker.</div>}
      <ul className="list" data-testid="marker-list">
        {markers.map((m) => (
          <li
            key={m.id}
            className={m.id === ix.selectedMarker ? 'selected' : ''}
            data-testid={`marker-${m.id}`}
          >
            <button type="button" className="link name" onClick={() => interaction.select(m.id)} title="Select">
              {m.label}
              {m.label !== m.id && <span className="muted"> ({m.id})</span>}
            </button>
            <span className="muted mono">
              {m.x.toFixed(0)},{m.y.toFixed(0)}
            </span>
            <label className="check small" title={m.attached ? (m.blob === null ? 'Attached, no blob in range' : `On blob_${m.blob}`) : 'Follow the nearest blob'}>
              <input
                type="checkbox"
                aria-label={`Attach ${m.label} to a blob`}
                data-testid={`attach-${m.id}`}
                checked={m.attached}
                onChange={(e) => send(e.target.checked ? 'attach_marker' : 'detach_marker', { id: m.id })}
              />
              blob{m.attached && m.blob !== null ? ` ${m.blob}` : ''}
            </label>
            <button type="button" className="icon" aria-label={`Rename ${m.label}`} onClick={() => rename(m.id, m.label)}>
              ✎
            </button>
            <button type="button" className="icon danger" aria-label={`Delete ${m.label}`} data-testid={`delete-${m.id}`} onClick={() => send('remove_marker', { id: m.id })}>
              ✕
            </button>
          </li>
        ))}
      </ul>
    </Panel>
  );
}
