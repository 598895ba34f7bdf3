/**
 * What the nftables and iptables backends send to their tools and how they read the answers,
 * without a kernel: the text builders and parsers are pure. The real thing, in network
 * namespaces with real traffic, is test/executor-netns.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackendError } from './backend.ts';
import { parseCidr, type Cidr } from './cidr.ts';
import { CommandRunner, commandError, isValidNetnsName } from './command-runner.ts';
import { ipsetBlockScript, ipsetUnblockScript, parseIpsetSave } from './iptables-backend.ts';
import { nftBlockScript, nftSetupScript, nftUnblockScript, parseNftTableJson } from './nftables-backend.ts';

function cidr(text: string): Cidr {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

test('nft setup creates our table, hash sets for hosts, interval sets for prefixes and drop rules in input and forward, idempotently', () => {
  const script = nftSetupScript('swarm_soc');
  assert.match(script, /^add table inet swarm_soc/m);
  assert.match(script, /add set inet swarm_soc blocked4 \{ type ipv4_addr; flags timeout; \}/);
  assert.match(script, /add set inet swarm_soc blocked6 \{ type ipv6_addr; flags timeout; \}/);
  assert.match(script, /add set inet swarm_soc blocked4_nets \{ type ipv4_addr; flags interval,timeout; \}/);
  assert.match(script, /add set inet swarm_soc blocked6_nets \{ type ipv6_addr; flags interval,timeout; \}/);
  assert.match(script, /add chain inet swarm_soc input \{ type filter hook input priority filter - 10; policy accept; \}/);
  assert.match(script, /add chain inet swarm_soc forward \{ type filter hook forward priority filter - 10; policy accept; \}/);
  // Rules are re-written after a flush of the chain, in the same transaction: never duplicated.
  assert.match(
    script,
    /flush chain inet swarm_soc input\nadd rule inet swarm_soc input ip saddr @blocked4 counter drop\nadd rule inet swarm_soc input ip saddr @blocked4_nets counter drop\nadd rule inet swarm_soc input ip6 saddr @blocked6 counter drop\nadd rule inet swarm_soc input ip6 saddr @blocked6_nets counter drop\n/,
  );
  assert.doesNotMatch(script, /delete table|flush ruleset|policy drop/);
});

test('nft block text is add/delete/add per set (refreshes timeouts on every kernel); unblock deletes', () => {
  const script = nftBlockScript('swarm_soc', [
    { cidr: cidr('198.51.100.7'), ttlSeconds: 3600 },
    { cidr: cidr('2001:db8::/48'), ttlSeconds: 60 },
    { cidr: cidr('203.0.113.0/24'), ttlSeconds: 120 },
    { cidr: cidr('198.51.100.9'), ttlSeconds: 90 },
  ]);
  assert.equal(
    script,
    [
      'add element inet swarm_soc blocked4 { 198.51.100.7 timeout 3600s, 198.51.100.9 timeout 90s }',
      'delete element inet swarm_soc blocked4 { 198.51.100.7, 198.51.100.9 }',
      'add element inet swarm_soc blocked4 { 198.51.100.7 timeout 3600s, 198.51.100.9 timeout 90s }',
      'add element inet swarm_soc blocked6_nets { 2001:db8::/48 timeout 60s }',
      'delete element inet swarm_soc blocked6_nets { 2001:db8::/48 }',
      'add element inet swarm_soc blocked6_nets { 2001:db8::/48 timeout 60s }',
      'add element inet swarm_soc blocked4_nets { 203.0.113.0/24 timeout 120s }',
      'delete element inet swarm_soc blocked4_nets { 203.0.113.0/24 }',
      'add element inet swarm_soc blocked4_nets { 203.0.113.0/24 timeout 120s }',
      '',
    ].join('\n'),
  );
  assert.equal(nftUnblockScript('swarm_soc', [cidr('2001:db8::7')]), 'delete element inet swarm_soc blocked6 { 2001:db8::7 }\n');
  const many = nftBlockScript('t', Array.from({ length: 2500 }, (_, i) => ({ cidr: cidr(`203.0.${Math.floor(i / 250)}.${i % 250}`), ttlSeconds: 60 })));
  assert.equal(many.trim().split('\n').length, 9, '1,000 elements a line, three lines per chunk');
});

test('nft -j listings are read: plain addresses, prefixes, timeouts; other sets and ranges are ignored', () => {
  const json = JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6', json_schema_version: 1 } },
      { table: { family: 'inet', name: 'swarm_soc', handle: 1 } },
      {
        set: {
          family: 'inet', name: 'blocked4', table: 'swarm_soc', type: 'ipv4_addr', flags: ['interval', 'timeout'],
          elem: [
            { elem: { val: '198.51.100.7', timeout: 3600, expires: 3599 } },
            { elem: { val: { prefix: { addr: '203.0.113.0', len: 24 } }, timeout: 60, expires: 59 } },
            '192.0.2.1',
            { elem: { val: { range: ['192.0.2.10', '192.0.2.20'] }, timeout: 60, expires: 5 } },
          ],
        },
      },
      { set: { family: 'inet', name: 'blocked6_nets', table: 'swarm_soc', type: 'ipv6_addr', elem: [{ elem: { val: { prefix: { addr: '2001:db8::', len: 48 } }, timeout: 60, expires: 12 } }] } },
      { set: { family: 'inet', name: 'someone_else', table: 'swarm_soc', type: 'ipv4_addr', elem: ['192.0.2.2'] } },
      { chain: { family: 'inet', table: 'swarm_soc', name: 'input' } },
    ],
  });
  assert.deepEqual(
    parseNftTableJson(json).map((e) => `${e.cidr.text} ${e.remainingSeconds}`),
    ['198.51.100.7/32 3599', '203.0.113.0/24 59', '192.0.2.1/32 null', '2001:db8::/48 12'],
  );
  assert.deepEqual(parseNftTableJson('{"nftables":[{"metainfo":{}},{"table":{"name":"swarm_soc"}}]}'), []);
  assert.throws(() => parseNftTableJson('Error: syntax error'), (e: unknown) => e instanceof BackendError && e.code === 'backend_output');
});

test('ipset restore text adds with per-entry timeouts and deletes; ipset save output is read back', () => {
  assert.equal(
    ipsetBlockScript('swarm_soc', [{ cidr: cidr('198.51.100.7'), ttlSeconds: 3600 }, { cidr: cidr('2001:db8::/48'), ttlSeconds: 60 }]),
    'add swarm_soc4 198.51.100.7/32 timeout 3600\nadd swarm_soc6 2001:db8::/48 timeout 60\n',
  );
  assert.equal(ipsetUnblockScript('swarm_soc', [cidr('203.0.113.0/24')]), 'del swarm_soc4 203.0.113.0/24\n');
  const save = [
    'create swarm_soc4 hash:net family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0x0a5fffcd',
    'add swarm_soc4 198.51.100.7 timeout 9',
    'add swarm_soc4 203.0.113.0/24 timeout 3599',
    'add swarm_soc4 garbage timeout 1',
    '',
  ].join('\n');
  assert.deepEqual(parseIpsetSave(save).map((e) => `${e.cidr.text} ${e.remainingSeconds}`), ['198.51.100.7/32 9', '203.0.113.0/24 3599']);
});

test('namespace names are checked before anything runs; failures become errors a person can act on', () => {
  assert.equal(isValidNetnsName('swx-123-a'), true);
  for (const bad of ['', '..', 'a b', 'x;rm -rf /', '-n', 'a/b', 'x'.repeat(65)]) assert.equal(isValidNetnsName(bad), false, bad);
  assert.throws(() => new CommandRunner('x;reboot'), (e: unknown) => e instanceof BackendError && e.code === 'backend_unavailable');
  const denied = commandError('nft', ['-f', '-'], { code: 1, stdout: '', stderr: 'Error: Could not process rule: Operation not permitted\n' }, null);
  assert.equal(denied.code, 'backend_permission');
  assert.match(denied.hint, /root or CAP_NET_ADMIN/);
  const noNetns = commandError('nft', ['list'], { code: 1, stdout: '', stderr: 'Cannot open network namespace "swx-x": No such file or directory\n' }, 'swx-x');
  assert.equal(noNetns.code, 'backend_unavailable');
  assert.match(noNetns.hint, /ip netns add swx-x/);
});

test('a missing tool is reported with the package that provides it', () => {
  const runner = new CommandRunner();
  assert.throws(
    () => runner.require(['swarm-soc-no-such-tool']),
    (e: unknown) => e instanceof BackendError && e.code === 'backend_unavailable' && /swarm-soc-no-such-tool is not installed/.test(e.message) && /apt-get install/.test(e.hint),
  );
});
