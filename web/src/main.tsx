import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './components/App';
import { AppContext } from './context';
import { authFetch, authToken, withToken } from './lib/auth';
import { FramebusClient, streamUrl } from './lib/client';
import { Interaction } from './lib/interaction';
import { AppModel } from './lib/model';
import './styles.css';

const token = authToken();
const client = new FramebusClient({
  url: withToken(streamUrl(), token),
  subscribe: { streams: ['state', 'video', 'events', 'alerts', 'config'], max_fps: 30 },
});
const model = new AppModel(client, authFetch(token), token);
const interaction = new Interaction();
model.start();

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <AppContext.Provider value={{ model, interaction }}>
        <App />
      </AppContext.Provider>
    </StrictMode>,
  );
}
