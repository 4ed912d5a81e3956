import { useEffect, useRef, useState } from 'react';
import { useApp, useUi } from '../context';
import { browserSources } from '../lib/api';
import { WebcamSender, type WebcamStats } from '../lib/webcam';

/** "Use my webcam", offered only when the config has a `browser` source. */
export function WebcamButton() {
  const { model } = useApp();
  const ui = useUi();
  const sources = browserSources(ui.config);
  const sender = useRef<WebcamSender | null>(null);
  const [on, setOn] = useState(false);
  const [stats, setStats] = useState<WebcamStats | null>(null);
  useEffect(() => () => sender.current?.stop(), []);
  const source = sources[0];
  if (!source) return null;
  const toggle = async () => {
    if (sender.current) {
      sender.current.stop();
      sender.current = null;
      setOn(false);
      return;
    }
    const s = new WebcamSender(source.id, {
      onError: (m) => model.toast('error', `Webcam → ${source.id}`, m),
      onStats: setStats,
    });
    sender.current = s;
    setOn(true);
    try {
      await s.start();
    } catch (e) {
      s.stop();
      sender.current = null;
      setOn(false);
      model.toast('error', 'Could not use the webcam', e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <div className="webcam">
      <button type="button" data-testid="btn-webcam" aria-pressed={on} className={on ? 'active' : ''} onClick={() => void toggle()}>
        {on ? '■ Stop webcam' : '● Use my webcam'}
      </button>
      {on && stats && <span className="muted small">{stats.sent} sent</span>}
    </div>
  );
}
