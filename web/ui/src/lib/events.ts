// The event stream, read with fetch rather than EventSource: EventSource cannot send an
// `Authorization` header, and API tokens must work as well as session cookies. Like
// EventSource it reconnects after a drop and sends `Last-Event-ID`, so no event is missed
// while the replay buffer on the appliance still holds it.

import { authHeaders, signalUnauthorized } from './api';
import type { SondeEvent } from './types';

export type StreamState = 'connecting' | 'live' | 'retrying';

export interface StreamHandlers {
  onEvent: (event: SondeEvent) => void;
  onState: (state: StreamState) => void;
}

/** Opens the stream; the returned function closes it for good. */
export function openEvents(handlers: StreamHandlers): () => void {
  let lastId: string | null = null;
  let stopped = false;
  let controller: AbortController | null = null;
  let retryMs = 500;

  async function connect() {
    while (!stopped) {
      handlers.onState('connecting');
      controller = new AbortController();
      try {
        const headers: Record<string, string> = { ...authHeaders(), Accept: 'text/event-stream' };
        if (lastId !== null) headers['Last-Event-ID'] = lastId;
        const response = await fetch('/api/v1/events', {
          headers,
          signal: controller.signal,
          credentials: 'same-origin',
          cache: 'no-store',
        });
        // A refused stream means the session is gone: retrying would only be refused again.
        if (response.status === 401) signalUnauthorized();
        if (!response.ok || !response.body) throw new Error(`status ${response.status}`);
        handlers.onState('live');
        retryMs = 500;
        await read(response.body);
      } catch {
        // Dropped or refused: retry below.
      }
      if (stopped) return;
      handlers.onState('retrying');
      await new Promise((r) => setTimeout(r, retryMs));
      retryMs = Math.min(retryMs * 2, 10_000);
    }
  }

  async function read(body: ReadableStream<Uint8Array>) {
    // A streaming decoder keeps a UTF-8 character split across chunks whole.
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      // Events end with a blank line (RFC: \n\n, \r\n\r\n or \r\r).
      buffer = buffer.replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        dispatch(block);
      }
    }
  }

  function dispatch(block: string) {
    let data = '';
    let id: string | null = null;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue; // keep-alive comment
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data += (data ? '\n' : '') + value;
      else if (field === 'id') id = value;
    }
    if (id !== null) lastId = id;
    if (!data) return;
    try {
      handlers.onEvent(JSON.parse(data) as SondeEvent);
    } catch {
      // A malformed event is dropped, not fatal: the next one may be fine.
    }
  }

  void connect();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
