// Server-sent events read over a real socket, as a browser's EventSource would: each message's id,
// event name and data, keep-alive comments and the retry advice left out.
import http from 'node:http';

export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/** An open SSE answer and the messages read from it so far. */
export interface SseStream {
  status: number;
  contentType: string;
  messages: SseMessage[];
  /** Settles when the server ends the answer. */
  ended: Promise<void>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string>): Promise<SseStream> {
  const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } });
  const response = await new Promise<http.IncomingMessage>((resolve, reject) =>
    req.once('response', resolve).once('error', reject),
  );
  const messages: SseMessage[] = [];
  let buffered = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    buffered += chunk;
    const blocks = buffered.split('\n\n');
    buffered = blocks.pop()!;
    for (const block of blocks) {
      const message = parseBlock(block);
      if (message) messages.push(message);
    }
  });
  const ended = new Promise<void>((resolve) => {
    response.once('end', resolve);
    response.once('close', resolve);
  });
  return {
    status: response.statusCode ?? 0,
    contentType: response.headers['content-type'] ?? '',
    messages,
    ended,
    close: () => req.destroy(),
  };
}

/** One SSE block; comments (keep-alives) and the `retry:` advice are not messages. */
export function parseBlock(block: string): SseMessage | null {
  const message: SseMessage = { id: null, event: 'message', data: '' };
  let hasData = false;
  for (const line of block.split('\n')) {
    const colon = line.indexOf(':');
    if (colon === 0) continue;
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') message.id = value;
    if (field === 'event') message.event = value;
    if (field === 'data') {
      message.data += value;
      hasData = true;
    }
  }
  return hasData ? message : null;
}
