import { useMemo } from 'react';
import { useApp, useLockReason, useParams, useUi } from '../context';
import { controlsFromSchema, type ControlSpec } from '../lib/schema';
import { Panel } from './Panel';
import { ParamControl } from './ParamControl';

const CAMERA_KEYS = ['exposure', 'gain', 'auto_exposure'];

/** Used only when no `camera_control` stage publishes a schema with the ranges. */
const FALLBACK: ControlSpec[] = [
  { key: 'exposure', kind: 'number', label: 'Exposure', nullable: false, readOnly: false, min: 0 },
  { key: 'gain', kind: 'number', label: 'Gain', nullable: false, readOnly: false, min: 0 },
  { key: 'auto_exposure', kind: 'toggle', label: 'Auto exposure', nullable: false, readOnly: false },
];

/** Exposure, gain and auto exposure of the camera source (`camera_0`). */
export function CameraPanel() {
  const { model } = useApp();
  const ui = useUi();
  const target = model.cameraTarget();
  const lock = useLockReason();
  const { values, set, isPending, errorOf, clearError } = useParams(target ?? '');
  const manifest = ui.plugins.find((p) => p.id === 'camera_control');
  const specs = useMemo(() => {
    const fromSchema = controlsFromSchema(manifest?.params_schema).filter((s) => CAMERA_KEYS.includes(s.key));
    return fromSchema.length > 0 ? fromSchema : FALLBACK;
  }, [manifest]);
  if (!target) return null;
  const auto = values.auto_exposure === true;
  return (
    <Panel title="Camera" subtitle={target} testId="camera-panel">
      {specs.map((spec) => {
        const autoLocked = spec.key === 'exposure' && auto;
        return (
          <ParamControl
            key={spec.key}
            target={target}
            spec={spec}
            value={values[spec.key] ?? spec.default}
            pending={isPending(spec.key)}
            error={errorOf(spec.key)}
            onDismissError={() => clearError(spec.key)}
            disabled={lock !== null || autoLocked}
            disabledReason={lock ?? (autoLocked ? 'Set by auto exposure' : null)}
            onChange={(v) => set(spec.key, v)}
          />
        );
      })}
    </Panel>
  );
}
