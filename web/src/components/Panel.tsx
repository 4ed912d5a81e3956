import { useId, useState, type ReactNode } from 'react';

interface Props {
  title: string;
  subtitle?: string;
  testId?: string;
  defaultOpen?: boolean;
  actions?: ReactNode;
  children: ReactNode;
}

/** A collapsible sidebar section. */
export function Panel({ title, subtitle, testId, defaultOpen = true, actions, children }: Props) {
  const [open, setOpen] = useState(defaultOpen);
  const bodyId = useId();
  return (
    <section className="panel" data-testid={testId} aria-label={title}>
      <header className="panel-header">
        <button
          type="button"
          className="panel-toggle"
          aria-expanded={open}
          aria-controls={bodyId}
          onClick={() => setOpen(!open)}
        >
          <span className="chevron" aria-hidden>{open ? '▾' : '▸'}</span>
          <span className="panel-title">{title}</span>
          {subtitle && <span className="panel-subtitle">{subtitle}</span>}
        </button>
        {actions && <div className="panel-actions">{actions}</div>}
      </header>
      {open && (
        <div className="panel-body" id={bodyId}>
          {children}
        </div>
      )}
    </section>
  );
}
