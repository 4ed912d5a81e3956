import { useEffect, useId, useRef, useState } from 'react';
import { coerceNumber, type ControlSpec } from '../lib/schema';

interface Props {
  /** Command target (stage id), used in test ids: `slider-<target>-<key>`. */
  target: string;
  spec: ControlSpec;
  value: unknown;
  pending: boolean;
  /** Why the last change was refused (shown under the control, rolled back). */
  error?: string | null;
  onDismissError?: () => void;
  disabled: boolean;
  disabledReason: string | null;
  onChange: (value: unknown) => void;
}

/** One generated control: slider, number, toggle, select, text or JSON. */
export function ParamControl({ target, spec, value, pending, error, onDismissError, disabled, disabledReason, onChange }: Props) {
  const id = useId();
  const dismiss = useRef(onDismissError);
  dismiss.current = onDismissError;
  useEffect(() => {
    if (!error) return;
    const t = setTimeout(() => dismiss.current?.(), 8000);
    return () => clearTimeout(t);
  }, [error]);
  const testId = `${spec.kind}-${target}-${spec.key}`;
  const off = disabled || spec.readOnly;
  const title = off && disabledReason ? disabledReason : spec.description;
  const common = {
    id,
    disabled: off,
    title,
    'data-testid': testId,
    'aria-describedby': spec.description ? `${id}-desc` : undefined,
  };
  let input: React.ReactNode;
  switch (spec.kind) {
    case 'slider':
      input = <Slider spec={spec} value={value} onChange={onChange} common={common} />;
      break;
    case 'number':
      input = <NumberBox spec={spec} value={value} onChange={onChange} common={common} />;
      break;
    case 'toggle':
      input = (
        <input
          {...common}
          type="checkbox"
          className="toggle"
          checked={value === true}
          onChange={(e) => onChange(e.target.checked)}
        />
      );
      break;
    case 'select': {
      const options = spec.options ?? [];
      const index = options.findIndex((o) => o.value === value);
      input = (
        <select {...common} value={index < 0 ? '' : String(index)} onChange={(e) => onChange(options[Number(e.target.value)]?.value ?? null)}>
          {index < 0 && <option value="">—</option>}
          {options.map((o, i) => (
            <option key={i} value={String(i)}>
              {o.label}
            </option>
          ))}
        </select>
      );
      break;
    }
    case 'text':
      input = <TextBox value={value} onCommit={onChange} common={common} />;
      break;
    default:
      input = <JsonBox value={value} onCommit={onChange} common={common} />;
  }
  return (
    <div className={`param param-${spec.kind} ${pending ? 'pending' : ''}`} data-testid={`param-${target}-${spec.key}`}>
      <div className="param-head">
        <label htmlFor={id}>{spec.label}</label>
        {spec.kind === 'slider' && (
          <span className="param-value" data-testid={`value-${target}-${spec.key}`}>
            {formatNumber(value, spec)}
            {spec.unit ? ` ${spec.unit}` : ''}
          </span>
        )}
        {pending && <span className="param-pending" aria-label="sending">•</span>}
      </div>
      {input}
      {error && (
        <div className="param-error" role="alert" data-testid={`error-${target}-${spec.key}`}>
          Not applied: {error}
        </div>
      )}
      {spec.description && (
        <div className="param-desc" id={`${id}-desc`}>
          {spec.description}
        </div>
      )}
    </div>
  );
}

type Common = Record<string, unknown> & { id: string; disabled: boolean };

function formatNumber(v: unknown, spec: ControlSpec): string {
  if (typeof v !== 'number') return v === null || v === undefined ? '—' : String(v);
  if (spec.integer) return String(Math.round(v));
  const digits = spec.step !== undefined && spec.step < 1 ? Math.min(4, Math.ceil(-Math.log10(spec.step))) : 1;
  return v.toFixed(digits);
}

function Slider({ spec, value, onChange, common }: { spec: ControlSpec; value: unknown; onChange: (v: unknown) => void; common: Common }) {
  const v = typeof value === 'number' ? value : typeof spec.default === 'number' ? spec.default : (spec.min ?? 0);
  return (
    <input
      {...common}
      type="range"
      min={spec.min}
      max={spec.max}
      step={spec.step ?? 'any'}
      value={v}
      aria-valuetext={formatNumber(v, spec)}
      onChange={(e) => {
        const n = coerceNumber(spec, e.target.value);
        if (!Number.isNaN(n)) onChange(n);
      }}
    />
  );
}

function NumberBox({ spec, value, onChange, common }: { spec: ControlSpec; value: unknown; onChange: (v: unknown) => void; common: Common }) {
  const [text, setText] = useState(value === null || value === undefined ? '' : String(value));
  useEffect(() => setText(value === null || value === undefined ? '' : String(value)), [value]);
  const commit = () => {
    if (text.trim() === '' && spec.nullable) {
      if (value !== null) onChange(null);
      return;
    }
    const n = coerceNumber(spec, text);
    if (Number.isNaN(n)) setText(String(value ?? ''));
    else if (n !== value) onChange(n);
  };
  return (
    <input
      {...common}
      type="number"
      min={spec.min}
      max={spec.max}
      step={spec.step ?? 'any'}
      value={text}
      onChange={(e) => setText(e.target.value)}
      onBlur={commit}
      onKeyDown={(e) => e.key === 'Enter' && commit()}
    />
  );
}

function TextBox({ value, onCommit, common }: { value: unknown; onCommit: (v: unknown) => void; common: Common }) {
  const [text, setText] = useState(typeof value === 'string' ? value : '');
  useEffect(() => setText(typeof value === 'string' ? value : ''), [value]);
  const commit = () => text !== value && onCommit(text);
  return <input {...common} type="text" value={text} onChange={(e) => setText(e.target.value)} onBlur={commit} onKeyDown={(e) => e.key === 'Enter' && commit()} />;
}

function JsonBox({ value, onCommit, common }: { value: unknown; onCommit: (v: unknown) => void; common: Common }) {
  const shown = JSON.stringify(value ?? null, null, 1);
  const [text, setText] = useState(shown);
  const [bad, setBad] = useState(false);
  useEffect(() => setText(shown), [shown]);
  const commit = () => {
    try {
      const v: unknown = JSON.parse(text);
      setBad(false);
      if (JSON.stringify(v) !== JSON.stringify(value)) onCommit(v);
    } catch {
      setBad(true);
    }
  };
  return (
    <textarea
      {...common}
      className={bad ? 'invalid' : ''}
      aria-invalid={bad}
      rows={Math.min(6, shown.split('\n').length)}
      value={text}
      onChange={(e) => setText(e.target.value)}
      onBlur={commit}
    />
  );
}
