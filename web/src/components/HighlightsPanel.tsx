import { useState } from 'react';
import { useUi } from '../context';
import { clipOf, edgeLabel, phaseLabel, ruleRows } from '../lib/highlights';
import { Panel } from './Panel';

/** Fusion rules with their phases, and the triggers they fired, each with its clip. */
export function HighlightsPanel() {
  const ui = useUi();
  const [playing, setPlaying] = useState<string | null>(null);
  const rules = ruleRows(ui.rules);
  if (rules.length === 0 && ui.highlights.length === 0) return null;
  const multi = new Set(rules.map((r) => r.source)).size > 1;
  return (
    <Panel title="Highlights" subtitle={`${ui.highlights.length} triggers`} testId="highlights-panel">
      <ul className="hl-rules" data-testid="hl-rules">
        {rules.map((r) => (
          <li key={`${r.source}/${r.id}`} data-testid={`rule-${r.id}`} data-phase={r.phase}>
            <span className={`hl-phase hl-${r.phase}`}>{phaseLabel(r.phase)}</span>
            <span className="mono">{r.id}</span>
            {multi && <span className="muted"> · {r.source}</span>}
            <span className="muted hl-fired">
              {r.fired}×{r.last_frame_id !== null ? ` · last #${r.last_frame_id}` : ''}
            </span>
          </li>
        ))}
      </ul>
      {ui.highlights.length === 0 ? (
        <p className="muted">No triggers yet.</p>
      ) : (
        <ul className="hl-list" data-testid="hl-list">
          {ui.highlights.map((e) => {
            const clip = clipOf(e, ui.recordings);
            const shown = playing === e.key && clip;
            return (
              <li key={e.key} className="hl-item" data-testid="hl-item" data-rule={e.rule} data-edge={e.edge}>
                <div className="hl-head">
                  <span className="mono">{e.rule}</span> <span className="muted">{edgeLabel(e.edge)} at #{e.frameId}</span>
                  <span className="hl-score" title="score">
                    {e.score.toFixed(2)}
                  </span>
                </div>
                <div className="hl-reason" data-testid="hl-reason">
                  {e.reason}
                </div>
                {e.clipLabel !== null && (
                  <div className="hl-clip">
                    {clip ? (
                      <button
                        type="button"
                        data-testid="hl-play"
                        aria-pressed={playing === e.key}
                        onClick={() => setPlaying(playing === e.key ? null : e.key)}
                      >
                        {playing === e.key ? '■ Stop' : `▶ Clip ${clip.detail}`}
                      </button>
                    ) : (
                      <span className="muted" data-testid="hl-clip-pending">
                        {e.clipId ? 'clip saved…' : 'clip recording…'}
                      </span>
                    )}
                  </div>
                )}
                {shown && (
                  <video className="rec-video" data-testid="hl-video" src={clip.url} controls autoPlay muted playsInline preload="metadata" />
                )}
              </li>
            );
          })}
        </ul>
      )}
    </Panel>
  );
}
