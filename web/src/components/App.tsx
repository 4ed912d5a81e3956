import { AnglesPanel } from './AnglesPanel';
import { BilliardsPanel } from './BilliardsPanel';
import { CameraPanel } from './CameraPanel';
import { ErrorsPanel } from './ErrorsPanel';
import { GeometryPanel } from './GeometryPanel';
import { Header } from './Header';
import { HighlightsPanel } from './HighlightsPanel';
import { MarkersPanel } from './MarkersPanel';
import { PlotsPanel } from './PlotsPanel';
import { RecordingsPanel } from './RecordingsPanel';
import { StagePanels } from './StagePanels';
import { StageTimings } from './StageTimings';
import { StatusBar } from './StatusBar';
import { Toasts } from './Toasts';
import { VideoView } from './VideoView';
import { WidgetsPanel } from './WidgetsPanel';

export function App() {
  return (
    <div className="app">
      <Header />
      <main className="main">
        <section className="stage-area" aria-label="Live video">
          <VideoView />
          <div className="below-video">
            <WidgetsPanel />
            <PlotsPanel />
            <StageTimings />
            <ErrorsPanel />
          </div>
        </section>
        <aside className="sidebar" aria-label="Controls">
          <CameraPanel />
          <BilliardsPanel />
          <RecordingsPanel />
          <HighlightsPanel />
          <AnglesPanel />
          <MarkersPanel />
          <GeometryPanel />
          <StagePanels />
        </aside>
      </main>
      <StatusBar />
      <Toasts />
    </div>
  );
}
