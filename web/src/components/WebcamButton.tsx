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
  // Snapshots of the webcam's source: each one's frame age at result.
  useEffect(() => {
    if (!on || !source) return;
    return model.client.onMessage((m) => {
      if (m.type === 'snapshot' && m.source === source.id) sender.current?.onSnapshot(m.t_ns);
    });
  }, [on, source?.id, model]);
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
    setStats(null); // a new session counts anew
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
      {on && stats && (
        <span
          className="muted small"
          data-testid="webcam-stats"
          data-age-n={stats.age?.n ?? 0}
          data-age-p50={stats.age?.p50.toFixed(1)}
          data-age-p99={stats.age?.p99.toFixed(1)}
          title="Frame age at result: from grabbing a camera frame to its snapshot back here (recent frames)"
        >
          {stats.sent} sent
          {stats.age && ` · age ${Math.round(stats.age.p50)} ms (p99 ${Math.round(stats.age.p99)})`}
        </span>
      )}
    </div>
  );
}
