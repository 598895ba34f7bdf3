/**
 * Traffic source for the namespace tests, run inside the attacker's namespace: reads one probe a
 * line on stdin, `ID SOURCE DESTINATION PORT TIMEOUT_MS`, sends one datagram from SOURCE and
 * answers `ID ok` if the echo came back in time, `ID timeout` if not. Exits when stdin closes.
 */
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';

console.log('ready');
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [id, source, destination, port, timeoutMs] = line.split(' ') as [string, string, string, string, string];
  const socket = createSocket(destination.includes(':') ? 'udp6' : 'udp4');
  const payload = `probe ${id}`;
  let done = false;
  const finish = (answer: string) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.close();
    console.log(`${id} ${answer}`);
  };
  const timer = setTimeout(() => finish('timeout'), Number(timeoutMs));
  socket.on('message', (msg) => {
    if (msg.toString() === payload) finish('ok');
  });
  socket.on('error', (err) => finish(`error ${err.message.replace(/\s+/g, '_')}`));
  socket.bind({ address: source, port: 0 }, () => socket.send(payload, Number(port), destination));
});
lines.on('close', () => process.exit(0));
