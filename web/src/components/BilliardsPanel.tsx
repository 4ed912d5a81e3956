import { useMemo } from 'react';
import { useApp, useInteraction, useLockReason, useParams, useUi } from '../context';
import { calibrationBody, formatEvent, quadProblem, readGame, readTable } from '../lib/billiards';
import { controlsFromSchema } from '../lib/schema';
import { Panel } from './Panel';
import { ParamControl } from './ParamControl';

const FEED_ROWS = 30;

/**
 * The billiards trainer (seed 002): the game (phase, shots, pocketed balls), a Reset game
 * button (`POST /api/v1/game/reset`), the prediction's cue speed, the table calibration mode
 * (`PUT /api/v1/calibration`) and the events feed. Shown when a billiards pipeline runs.
 */
export function BilliardsPanel() {
  const { model, interaction } = useApp();
  const ui = useUi();
  const ix = useInteraction();
  const lock = useLockReason();
  const results = (ui.snapshot?.results ?? {}) as Record<string, unknown>;
  const game = readGame(results);
  const table = readTable(results);
  const trajectory = ui.stages.find((s) => s.plugin === 'trajectory') ?? null;
  const speedSpec = useMemo(
    () => controlsFromSchema(trajectory?.manifest?.params_schema).find((s) => s.key === 'speed') ?? null,
    [trajectory],
  );
  const speed = useParams(trajectory?.id ?? 'trajectory');
  if (!game && !('table_detection' in results)) return null;

  const resetGame = () => {
    model
      .rest('POST', '/api/v1/game/reset')
      .then(() => model.toast('info', 'New game', 'Shots, pocketed balls and events cleared'))
      .catch(() => {});
  };
  const calib = ix.calibration;
  const problem = calib && calib.length === 4 ? quadProblem(calib) : null;
  const save = () => {
    if (!calib) return;
    model
      .rest('PUT', '/api/v1/calibration', calibrationBody(calib))
      .then(() => {
        interaction.endCalibration();
        model.toast('info', 'Table calibrated', 'The four corners are kept in table_detection’s params');
      })
      .catch(() => {});
  };
  const useDetection = () => {
    model
      .rest('PUT', '/api/v1/calibration', { corners: null })
      .then(() => {
        interaction.endCalibration();
        model.toast('info', 'Table detection', 'The table is found in the picture again');
      })
      .catch(() => {});
  };

  return (
    <Panel
      title="Billiards"
      subtitle={game ? `${game.phase} · shot ${game.shots}` : undefined}
      testId="billiards-panel"
      actions={
        <button type="button" data-testid="btn-game-reset" disabled={ui.connection.state !== 'open'} title="Start a new game: clear shots, pocketed balls and events" onClick={resetGame}>
          Reset game
        </button>
      }
    >
      {game && (
        <dl className="billiards-game" data-testid="billiards-game">
          <dt>Shots</dt>
          <dd data-testid="billiards-shots">{game.shots}</dd>
          <dt>On table</dt>
          <dd>{game.ballsOnTable}</dd>
          <dt>Pocketed</dt>
          <dd data-testid="billiards-pocketed">{game.pocketed.length > 0 ? game.pocketed.join(', ') : '—'}</dd>
        </dl>
      )}
      {speedSpec && trajectory && (
        <ParamControl
          target={`billiards-${trajectory.id}`}
          spec={{ ...speedSpec, label: 'Prediction cue speed (m/s)' }}
          value={speed.values[speedSpec.key] ?? speedSpec.default}
          pending={speed.isPending(speedSpec.key)}
          error={speed.errorOf(speedSpec.key)}
          onDismissError={() => speed.clearError(speedSpec.key)}
          disabled={lock !== null}
          disabledReason={lock}
          onChange={(v) => speed.set(speedSpec.key, v)}
        />
      )}
      <div className="billiards-calibration" data-testid="billiards-calibration">
        <span className="muted">Table: {table ? table.source : 'not found'}</span>
        {!calib ? (
          <button type="button" data-testid="btn-calibrate" disabled={lock !== null} title={lock ?? 'Show the playing-area corners to drag or click them'} onClick={() => interaction.startCalibration(table?.corners ?? [])}>
            Calibrate
          </button>
        ) : (
          <>
            <button type="button" data-testid="btn-calibration-clear" onClick={() => interaction.clearCorners()}>
              Click corners
            </button>
            <button type="button" data-testid="btn-calibration-save" disabled={calib.length !== 4 || problem !== null} title={problem ?? 'Pin these corners'} onClick={save}>
              Save
            </button>
            <button type="button" data-testid="btn-calibration-auto" title="Return to detecting the table" onClick={useDetection}>
              Use detection
            </button>
            <button type="button" className="link" data-testid="btn-calibration-cancel" onClick={() => interaction.endCalibration()}>
              cancel
            </button>
            {problem && <div className="inline-error" role="alert">{problem}</div>}
          </>
        )}
      </div>
      {game && (
        <ol className="billiards-events" data-testid="billiards-events" aria-label="Game events, newest first">
          {game.events.length === 0 && <li className="muted">No events yet.</li>}
          {game.events.slice(0, FEED_ROWS).map((e, i) => (
            <li key={`${e.frame_id}-${e.kind}-${e.balls.join('-')}-${i}`} data-testid="billiards-event" data-kind={e.kind}>
              <span className="mono muted">#{e.frame_id}</span> {formatEvent(e)}
            </li>
          ))}
        </ol>
      )}
    </Panel>
  );
}
