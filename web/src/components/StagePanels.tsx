import { useUi } from '../context';
import { StagePanel } from './StagePanel';

/** One generated panel per stage instance of the config. */
export function StagePanels() {
  const ui = useUi();
  if (ui.loadError) {
    return (
      <div className="panel-note error" role="alert">
        Could not load the pipeline: {ui.loadError}
      </div>
    );
  }
  if (ui.stages.length === 0) return <div className="panel-note">{ui.connection.state === 'open' ? 'Loading stages…' : 'Waiting for the server…'}</div>;
  return (
    <>
      {ui.stages.map((s) => (
        <StagePanel key={s.id} stage={s} />
      ))}
    </>
  );
}
