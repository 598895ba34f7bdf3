/**
 * UDP echo service for the namespace tests, run inside the executor's namespace
 * (`ip netns exec NS node udp-echo.ts PORT`): sends every datagram back to where it came from,
 * on IPv4 and IPv6. Prints "ready" once both sockets are bound; exits when stdin closes, so it
 * never outlives the test that started it.
 */
import { createSocket, type Socket } from 'node:dgram';

const port = Number(process.argv[2]);
const sockets: Socket[] = [];
let bound = 0;
for (const [type, address] of [['udp4', '0.0.0.0'], ['udp6', '::']] as const) {
  const socket = createSocket({ type, ipv6Only: type === 'udp6' });
  socket.on('message', (msg, from) => socket.send(msg, from.port, from.address));
  socket.on('error', (err) => {
    console.error(`udp-echo: ${err.message}`);
    process.exit(1);
  });
  socket.bind(port, address, () => {
    if (++bound === 2) console.log('ready');
  });
  sockets.push(socket);
}
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
