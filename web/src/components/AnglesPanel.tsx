import { useMemo, useRef, useState } from 'react';
import { useUi } from '../context';
import { AngleRanges, readAngles } from '../lib/pose';
import { Panel } from './Panel';

/** Joint angles of the pose result (`vision.angles`): value now and range since reset. */
export function AnglesPanel() {
  const ui = useUi();
  const ranges = useRef(new AngleRanges());
  const [, bump] = useState(0);
  const snap = ui.snapshot;
  // Idempotent per snapshot (min/max), so a repeated call changes nothing.
  useMemo(() => {
    if (snap) ranges.current.update(readAngles(snap.results ?? {}));
  }, [snap]);
  const rows = ranges.current.rows();
  if (rows.length === 0) return null;
  return (
    <Panel
      title="Angles"
      subtitle="3D, degrees"
      testId="angles-panel"
      actions={
        <button
          type="button"
          title="Reset the ranges"
          onClick={() => {
            ranges.current.reset();
            bump((n) => n + 1);
          }}
        >
          Reset
        </button>
      }
    >
      <table className="angles">
        <tbody>
          {rows.map((r) => (
            <tr key={r.name} data-testid={`angle-${r.name}`}>
              <td>{r.name.replace(/_/g, ' ')}</td>
              <td className="mono">{r.value}</td>
              <td className="muted mono">{r.range}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Panel>
  );
}
