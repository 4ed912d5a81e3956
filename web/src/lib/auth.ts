/**
 * The server's token, for a non-loopback bind: opened as `http://host/?token=T`, the UI keeps
 * T for the tab's session, sends it as `Authorization: Bearer T` on REST calls and as
 * `?token=T` on WebSockets (browsers cannot set headers there).
 */
const KEY = 'framebus-token';

export function authToken(loc: { search: string } = window.location, store: Pick<Storage, 'getItem' | 'setItem'> | null = safeSession()): string | null {
  const fromUrl = new URLSearchParams(loc.search).get('token');
  if (fromUrl) {
    store?.setItem(KEY, fromUrl);
    return fromUrl;
  }
  return store?.getItem(KEY) ?? null;
}

/** Appends `token=` to a WebSocket URL when there is one. */
export function withToken(url: string, token: string | null): string {
  if (!token) return url;
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}

/** `fetch` that sends the bearer token. */
export function authFetch(token: string | null): typeof fetch {
  if (!token) return (...a) => fetch(...a);
  return (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
}

function safeSession(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
