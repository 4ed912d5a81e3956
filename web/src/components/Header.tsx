import { RunControls } from './RunControls';
import { WebcamButton } from './WebcamButton';
import { ConnectionBadge } from './ConnectionBadge';

export function Header() {
  return (
    <header className="header">
      <div className="brand">
        <span className="logo" aria-hidden>◉</span> framebus
      </div>
      <RunControls />
      <div className="header-right">
        <WebcamButton />
        <ConnectionBadge />
      </div>
    </header>
  );
}
