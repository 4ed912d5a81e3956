import { useApp, useUi } from '../context';

/** Run / pause / record the pipeline. */
export function RunControls() {
  const { model } = useApp();
  const ui = useUi();
  const state = ui.snapshot?.state ?? ui.runState;
  const connected = ui.connection.state === 'open';
  const send = (cmd: string) => {
    model.command('pipeline', cmd).catch(() => {});
  };
  const recording = state === 'recording';
  return (
    <div className="run-controls" role="group" aria-label="Pipeline">
      <button
        type="button"
        data-testid="btn-run"
        className={state === 'running' ? 'active' : ''}
        aria-pressed={state === 'running'}
        disabled={!connected || state === 'running'}
        onClick={() => send('run')}
      >
        ▶ Run
      </button>
      <button
        type="button"
        data-testid="btn-pause"
        className={state === 'paused' ? 'active' : ''}
        aria-pressed={state === 'paused'}
        disabled={!connected || state === 'paused'}
        onClick={() => send('pause')}
      >
        ❚❚ Pause
      </button>
      <button
        type="button"
        data-testid="btn-record"
        className={recording ? 'recording' : ''}
        aria-pressed={recording}
        disabled={!connected}
        onClick={() => send(recording ? 'stop_recording' : 'record')}
      >
        {recording ? '■ Stop recording' : '● Record'}
      </button>
      <span className="run-state" data-testid="run-state" aria-live="polite">
        {state ?? '—'}
      </span>
    </div>
  );
}
