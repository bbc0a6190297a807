import { request as httpRequest } from 'node:http';
import { WebSocket } from 'ws';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed body; undefined when it is empty. */
  json: any;
}

/** A POST through node:http, which (unlike fetch) lets a test set Host and Origin. */
export function rawPost(url: string, body: string, headers: Record<string, string | number> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens a WebSocket with extra upgrade headers; resolves with the socket, or the HTTP refusal. */
export function openWs(url: string, headers: Record<string, string> = {}): Promise<{ ws?: WebSocket; status?: number; body?: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, body: text === '' ? undefined : JSON.parse(text) }));
    });
    ws.once('error', (err) => reject(err));
  });
}
