/**
 * A pipe to the console's web API, for tests whose console runs in another network namespace.
 *
 * `swarmctl console --web` listens on 127.0.0.1 only — the loopback of its own namespace, which a
 * test in the host's namespace cannot reach. The test starts this script inside the console's
 * namespace (`ip netns exec NS node console-client.ts URL`) and talks to it over stdin/stdout:
 *
 *   stdin   one request frame a line, as the API takes them: {"id":1,"method":"incidents","params":{}}
 *   stdout  every frame the console sends, a line each: responses ({id, ok, …}) and pushed events
 *           ({event}), the first being the snapshot; then {"closed": CODE, "reason": "…"} when the
 *           socket closes, or {"failed": "…"} when it cannot connect.
 *
 * URL is what the console printed (`http://127.0.0.1:PORT/#token=HEX`): the token goes to the
 * console as a WebSocket subprotocol, as the browser UI sends it. The script exits when stdin ends
 * or the socket closes.
 */
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import { WS_PATH, WS_PROTOCOL } from '../../core/console/web-server.ts';

const url = process.argv[2];
if (url === undefined) {
  process.stderr.write('usage: node test/helpers/console-client.ts http://127.0.0.1:PORT/#token=HEX\n');
  process.exit(2);
}
const parsed = new URL(url);
const token = parsed.hash.replace(/^#token=/, '');
const ws = new WebSocket(`ws://${parsed.host}${WS_PATH}`, [WS_PROTOCOL, `token.${token}`]);
const out = (frame: unknown): void => void process.stdout.write(`${JSON.stringify(frame)}\n`);

// Requests typed before the socket opens wait for it.
const queued: string[] = [];
ws.on('open', () => {
  for (const line of queued.splice(0)) ws.send(line);
});
ws.on('message', (data) => process.stdout.write(`${data.toString()}\n`));
ws.on('unexpected-response', (_req, res) => {
  out({ failed: `the console answered HTTP ${res.statusCode} instead of upgrading` });
  process.exit(1);
});
ws.on('error', (err) => {
  out({ failed: err.message });
  process.exit(1);
});
ws.on('close', (code, reason) => {
  out({ closed: code, reason: reason.toString() });
  process.exit(0);
});

createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line.trim() === '') return;
    if (ws.readyState === ws.OPEN) ws.send(line);
    else queued.push(line);
  })
  .on('close', () => ws.close(1000, 'the test is done'));
