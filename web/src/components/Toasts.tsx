import { useApp, useUi } from '../context';

/** Notifications and command failures as toasts (top right). */
export function Toasts() {
  const { model } = useApp();
  const { toasts } = useUi();
  return (
    <div className="toasts" aria-live="polite" data-testid="toasts">
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast-${t.level}`} role={t.level === 'error' ? 'alert' : 'status'} data-testid={`toast-${t.level}`}>
          <div className="toast-title">{t.title}</div>
          <div className="toast-message">{t.message}</div>
          <button type="button" className="icon" aria-label="Dismiss" onClick={() => model.dismissToast(t.id)}>
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}
