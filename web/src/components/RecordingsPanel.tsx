import { useEffect, useState } from 'react';
import { useApp, useUi } from '../context';
import { activeLine, clipTarget, type PlayItem } from '../lib/recordings';
import { Panel } from './Panel';

const POLL_MS = 1000;

/** Sessions and clips from the recordings directory, each playable here; "Save clip". */
export function RecordingsPanel() {
  const { model } = useApp();
  const ui = useUi();
  const [playing, setPlaying] = useState<string | null>(null);
  const [chosen, setChosen] = useState<string | null>(null);
  const [now, setNow] = useState(() => performance.now());
  const connected = ui.connection.state === 'open';
  const recording = (ui.snapshot?.state ?? ui.runState) === 'recording';
  const view = ui.recordings;
  const sources = ui.config?.sources ?? [];
  const target = clipTarget(sources, chosen);

  useEffect(() => {
    if (connected) void model.refreshRecordings();
  }, [model, connected]);

  // While recording: the listing's size every second, the clock every quarter second.
  useEffect(() => {
    if (!recording) return;
    const poll = setInterval(() => void model.refreshRecordings(), POLL_MS);
    const clock = setInterval(() => setNow(performance.now()), 250);
    return () => {
      clearInterval(poll);
      clearInterval(clock);
    };
  }, [model, recording]);

  const item = (p: PlayItem) => (
    <li key={p.key} className="rec-item" data-testid={`rec-${p.key}`}>
      <button
        type="button"
        className={playing === p.key ? 'active' : ''}
        aria-pressed={playing === p.key}
        data-testid={`play-${p.key}`}
        onClick={() => setPlaying(playing === p.key ? null : p.key)}
      >
        {playing === p.key ? '■' : '▶'}
      </button>
      <span className="rec-title">{p.title}</span>
      <span className="rec-detail muted">{p.detail}</span>
      <a href={p.url} download className="rec-download" title="Download">
        ⤓
      </a>
      {playing === p.key && (
        <video
          className="rec-video"
          data-testid={`video-${p.key}`}
          data-frames={p.frames ?? undefined}
          data-duration={p.duration_s ?? undefined}
          src={p.url}
          controls
          autoPlay
          muted
          playsInline
          preload="metadata"
        />
      )}
    </li>
  );

  const active = view?.active ?? null;
  return (
    <Panel
      title="Recordings"
      subtitle={view?.dir || undefined}
      testId="recordings-panel"
      actions={
        <button type="button" onClick={() => void model.refreshRecordings()} disabled={!connected} title="Refresh" aria-label="Refresh recordings">
          ⟳
        </button>
      }
    >
      <div className="rec-clip-row">
        {sources.length > 1 && (
          <select aria-label="Clip source" value={target ?? ''} onChange={(e) => setChosen(e.target.value)}>
            {sources.map((s) => (
              <option key={s.id} value={s.id}>
                {s.id}
              </option>
            ))}
          </select>
        )}
        <button
          type="button"
          data-testid="btn-save-clip"
          disabled={!connected || !target}
          title="Save the 5 s before and after now (needs `clips = true` on the source)"
          onClick={() => {
            if (target) model.saveClip(target).catch(() => {});
          }}
        >
          ✂ Save clip{target && sources.length === 1 ? ` (${target})` : ''}
        </button>
      </div>
      {active && (
        <div className="rec-active" data-testid="rec-active" aria-live="polite">
          {activeLine(active, recording ? (now - ui.recordingsAt) / 1000 : 0)}
        </div>
      )}
      <h4>Clips</h4>
      {view && view.clips.length > 0 ? (
        <ul className="rec-list" data-testid="clip-list">
          {view.clips.map(item)}
        </ul>
      ) : (
        <p className="muted">No clips yet.</p>
      )}
      <h4>Sessions</h4>
      {view && view.sessions.length > 0 ? (
        <ul className="rec-sessions" data-testid="session-list">
          {view.sessions.map((s) => (
            <li key={s.name} data-testid={`session-${s.name}`}>
              <div className="rec-session-head">
                <span className="mono">{s.name}</span> <span className="muted">{s.summary}</span>
              </div>
              <ul className="rec-list">{s.videos.map(item)}</ul>
              {s.others.length > 0 && (
                <div className="rec-others">
                  {s.others.map((o) => (
                    <a key={o.name} href={o.url} download title={o.size}>
                      {o.name}
                    </a>
                  ))}
                </div>
              )}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">No recordings yet.</p>
      )}
    </Panel>
  );
}
