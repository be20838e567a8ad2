// The websocket: a snapshot first, then the server's updates. When it drops, the page
// says so at once and reconnects with a growing backoff (1, 2, 4 … 10 s); each
// reconnection starts again from a fresh snapshot.

import { api } from './api.js';

const BACKOFF_S = [1, 2, 4, 8, 10];
const PING_S = 30;

function liveUrl() {
  const url = new URL('api/live', location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

export function connect(store) {
  let attempt = 0;
  let pinger = null;

  const retryIn = (seconds) => {
    store.emit('retry', seconds);
    setTimeout(open, seconds * 1000);
  };

  const open = () => {
    const socket = new WebSocket(liveUrl());
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === 'snapshot') {
        attempt = 0;
        store.snapshot(message.state);
        store.setConnected(true);
      } else if (message.type === 'update') {
        store.update(message);
      }
    };
    socket.onopen = () => {
      pinger = setInterval(() => socket.send(JSON.stringify({ type: 'ping' })), PING_S * 1000);
    };
    socket.onclose = () => {
      clearInterval(pinger);
      store.setConnected(false);
      // A session that ended (1008, or a refused handshake) sends the page to the login:
      // any API call answered 401 does that.
      api.state().catch(() => {});
      retryIn(BACKOFF_S[Math.min(attempt++, BACKOFF_S.length - 1)]);
    };
  };

  open();
}

