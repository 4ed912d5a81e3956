import { useMemo } from 'react';
import { useApp, useLockReason, useParams, useUi } from '../context';
import type { StageView } from '../lib/api';
import { controlsFromSchema } from '../lib/schema';
import { ParamControl } from './ParamControl';

/** A stage's controls, generated from its params JSON Schema; enable/disable and reset. */
export function StagePanel({ stage }: { stage: StageView }) {
  const { model } = useApp();
  const ui = useUi();
  const lock = useLockReason();
  const { values, set, isPending, errorOf, clearError } = useParams(stage.id);
  const specs = useMemo(() => controlsFromSchema(stage.manifest?.params_schema), [stage.manifest]);
  const active = ui.snapshot?.active_plugins.find((p) => p.id === stage.id);
  const enabled = active?.enabled ?? true;
  const stageError = ui.snapshot?.errors.find((e) => e.stage === stage.id);
  const toggleEnabled = () => {
    model.command('pipeline', enabled ? 'disable_stage' : 'enable_stage', { stage: stage.id }).catch(() => {});
  };
  const reset = () => {
    model
      .command(stage.id, 'reset')
      .then(() => model.refreshParams(stage.id))
      .catch(() => {});
  };
  return (
    <section className={`panel stage-panel ${enabled ? '' : 'disabled'}`} data-testid={`stage-${stage.id}`} aria-label={`Stage ${stage.id}`}>
      <details open>
        <summary className="panel-header">
          <span className="panel-title">{stage.id}</span>
          {stage.plugin !== stage.id && <span className="panel-subtitle">{stage.plugin}</span>}
          {active && <span className="panel-subtitle">{active.performance_ms.toFixed(2)} ms</span>}
          {active?.age_ms !== undefined && (
            <span className="panel-subtitle" data-testid={`age-${stage.id}`} title="a latest-mode stage: its result comes from an earlier frame">
              frame {active.frame_id} · {Math.round(active.age_ms)} ms old
            </span>
          )}
        </summary>
        <div className="panel-body">
          {stage.manifest?.description && <p className="stage-desc">{stage.manifest.description}</p>}
          {stageError && (
            <div className="inline-error" role="alert">
              {stageError.disabled ? 'Disabled after repeated failures: ' : 'Error: '}
              {stageError.message}
            </div>
          )}
          {lock && specs.length > 0 && (
            <div className="lock-note" data-testid={`lock-${stage.id}`}>
              {lock}
            </div>
          )}
          {specs.length === 0 && <div className="panel-note">No parameters.</div>}
          {specs.map((spec) => (
            <ParamControl
              key={spec.key}
              target={stage.id}
              spec={spec}
              value={values[spec.key] ?? spec.default}
              pending={isPending(spec.key)}
              error={errorOf(spec.key)}
              onDismissError={() => clearError(spec.key)}
              disabled={lock !== null}
              disabledReason={lock}
              onChange={(v) => set(spec.key, v)}
            />
          ))}
          <div className="stage-actions">
            <button type="button" data-testid={`btn-reset-${stage.id}`} disabled={lock !== null} title={lock ?? 'Reset the stage'} onClick={reset}>
              Reset
            </button>
            <button type="button" data-testid={`btn-enable-${stage.id}`} disabled={ui.connection.state !== 'open'} onClick={toggleEnabled}>
              {enabled ? 'Disable' : 'Enable'}
            </button>
          </div>
        </div>
      </details>
    </section>
  );
}
