import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CAPABILITIES } from '../overlay/trust-messages.ts';
import { MAX_JUSTIFICATION_BYTES as OVERLAY_MAX_JUSTIFICATION, MAX_REASON_BYTES as OVERLAY_MAX_REASON } from '../overlay/trust-messages.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnomalyStore } from '../store/anomaly-store.ts';
import {
  cleanFeedText,
  CONSOLE_CAPABILITIES,
  CONSOLE_METHODS,
  decodeFeedCursor,
  EMPTY_FEED_FILTER,
  encodeFeedCursor,
  FEED_INPUT_LIMITS,
  FEED_PAGE_MAX_LIMIT,
  FEED_SEVERITIES,
  feedItemMatchesFilter,
  MAX_JUSTIFICATION_BYTES,
  MAX_REASON_BYTES,
  normalizeFeedIp,
  parseConsoleCall,
  parseConsoleRequest,
  parseFeedAnomalies,
  type FeedAnomalyInput,
  type FeedFilter,
  type FeedItemRow,
  type FeedSeverity,
} from './api.ts';

test('the console mirrors the overlay capability list and limits', () => {
  assert.deepEqual([...CONSOLE_CAPABILITIES], [...CAPABILITIES]);
  assert.equal(MAX_JUSTIFICATION_BYTES, OVERLAY_MAX_JUSTIFICATION);
  assert.equal(MAX_REASON_BYTES, OVERLAY_MAX_REASON);
});

test('valid calls parse into typed calls with trimmed text and deduplicated capabilities', () => {
  assert.deepEqual(parseConsoleCall('snapshot', undefined), { ok: true, value: { method: 'snapshot', params: {} } });
  assert.deepEqual(parseConsoleCall('approve', { peer: ' gcp-log-monitor ', capabilities: ['events.publish', 'events.publish'] }), {
    ok: true,
    value: { method: 'approve', params: { peer: 'gcp-log-monitor', capabilities: ['events.publish'] } },
  });
  assert.deepEqual(parseConsoleCall('reject', { peer: 'x', reason: 'not today' }), { ok: true, value: { method: 'reject', params: { peer: 'x', reason: 'not today' } } });
  assert.deepEqual(parseConsoleCall('revoke', { peer: 'x' }), { ok: true, value: { method: 'revoke', params: { peer: 'x', reason: '' } } });
  assert.deepEqual(parseConsoleCall('handshake', { target: 'aws-firewall-executor', justification: 'need mitigations', want: ['mitigation.request'] }), {
    ok: true,
    value: { method: 'handshake', params: { target: 'aws-firewall-executor', justification: 'need mitigations', want: ['mitigation.request'], offer: [] } },
  });
  assert.deepEqual(parseConsoleCall('saveSettings', { registry: '10.0.0.5:9000', hostname: 'soc-console' }), {
    ok: true,
    value: { method: 'saveSettings', params: { registry: '10.0.0.5:9000', hostname: 'soc-console' } },
  });
});

test('malformed calls are refused with what was wrong and how to fix it', () => {
  const cases: Array<[unknown, unknown, RegExp]> = [
    ['launchMissiles', {}, /unknown method/],
    [42, {}, /unknown method/],
    ['approve', [], /params must be an object/],
    ['approve', { capabilities: [] }, /"peer" is required/],
    ['approve', { peer: '   ' }, /"peer" is required/],
    ['approve', { peer: 'x', capabilities: 'events.publish' }, /must be a list/],
    ['approve', { peer: 'x', capabilities: ['root.shell'] }, /unknown capability "root.shell"/],
    ['approve', { peer: 'x', extra: 1 }, /unknown parameter "extra"/],
    ['snapshot', { x: 1 }, /unknown parameter "x"/],
    ['reject', { peer: 'x', reason: 7 }, /"reason" must be a string/],
    ['reject', { peer: 'x', reason: 'é'.repeat(MAX_REASON_BYTES) }, /longer than 300 bytes/],
    ['handshake', { target: 'x' }, /"justification" is required/],
    ['handshake', { target: 'x', justification: 'ü'.repeat(400) }, /longer than 600 bytes/],
    ['saveSettings', { registry: 'no-port', hostname: 'a' }, /not HOST:PORT/],
    ['saveSettings', { registry: 'h:70000', hostname: 'a' }, /not HOST:PORT/],
    ['saveSettings', { registry: 'h:9000', hostname: 'Bad_Name' }, /not a valid hostname/],
  ];
  for (const [method, params, message] of cases) {
    const r = parseConsoleCall(method, params);
    assert.equal(r.ok, false, `${String(method)} ${JSON.stringify(params)} should be refused`);
    if (!r.ok) {
      assert.match(r.error.message, message);
      assert.ok(r.error.hint.length > 0, 'every refusal carries a hint');
    }
  }
});

test('request frames need an object with a numeric id; the id is echoed on refusal', () => {
  assert.equal(parseConsoleRequest(null).ok, false);
  assert.equal(parseConsoleRequest({ method: 'snapshot' }).ok, false);
  assert.equal(parseConsoleRequest({ id: -1, method: 'snapshot' }).ok, false);
  const refused = parseConsoleRequest({ id: 7, method: 'nope' });
  assert.equal(refused.ok, false);
  assert.equal(refused.id, 7);
  assert.deepEqual(parseConsoleRequest({ id: 3, method: 'snapshot', params: {} }), { ok: true, value: { id: 3, call: { method: 'snapshot', params: {} } }, id: 3 });
});

test('the validator is total: arbitrary JSON never throws and never yields an unknown method', () => {
  fc.assert(
    fc.property(fc.oneof(fc.constantFrom(...CONSOLE_METHODS), fc.string()), fc.jsonValue(), (method, params) => {
      const r = parseConsoleCall(method, params);
      if (r.ok) assert.ok(CONSOLE_METHODS.includes(r.value.method));
      else assert.equal(typeof r.error.message, 'string');
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.jsonValue(), (frame) => {
      parseConsoleRequest(frame);
    }),
    { numRuns: 2000 },
  );
});

// ---- the anomaly feed ------------------------------------------------------------------------

const NOW = Date.UTC(2025, 10, 25, 10, 0, 0);
const AGENT = { key: 'a5Zk-_9', hostname: 'gcp-log-monitor' };

function monitorAnomaly(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'bf-203.0.113.7',
    rule: 'sshd-brute-force',
    detector: 'leaky-bucket',
    sourceIp: '203.0.113.7',
    count: 12,
    firstSeen: NOW - 60_000,
    lastSeen: NOW - 1_000,
    severity: 'high',
    mitre: 'T1110.001',
    summary: '12 failed logins for root',
    users: ['root'],
    usersTotal: 1,
    evidence: [{ line: 41, text: 'Failed password for root from 203.0.113.7 port 52144 ssh2', source: '/var/log/auth.log' }],
    ...overrides,
  };
}

test('a valid anomaly from a monitor is accepted as sent', () => {
  const r = parseFeedAnomalies(AGENT, [monitorAnomaly()], NOW);
  assert.deepEqual(r.agent, AGENT);
  assert.equal(r.dropped, 0);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.accepted, [monitorAnomaly()]);
});

test('anomaly fields that can be clipped are clipped; the anomaly is kept', () => {
  const [a] = parseFeedAnomalies(
    AGENT,
    [
      monitorAnomaly({
        sourceIp: 'not-an-ip',
        mitre: 'T1110.001; DROP TABLE',
        summary: `evil \u202Egnp.exe\u202C and a bell\u0007 ${'x'.repeat(1000)}`,
        users: [...Array.from({ length: 80 }, (_, i) => `user${i}`), 'user1', 42],
        usersTotal: 3,
        evidence: [...Array.from({ length: 70 }, (_, i) => ({ line: i + 1, text: `line ${i}\nforged: next line` })), { text: 'no line number' }, { line: 5 }],
        lastSeen: NOW + 3_600_000,
        firstSeen: NOW + 3_600_000 + 5,
        count: 7.9,
      }),
    ],
    NOW,
  ).accepted;
  assert.ok(a);
  assert.equal(a.sourceIp, null, 'an address that is not one is dropped, not shown');
  assert.equal(a.mitre, '');
  assert.equal(a.summary.length, FEED_INPUT_LIMITS.summaryLength);
  assert.ok(a.summary.endsWith('…'));
  assert.ok(!/[\u202E\u202C\u0007]/.test(a.summary), 'bidi overrides and control characters are replaced');
  assert.equal(a.users.length, FEED_INPUT_LIMITS.users);
  assert.equal(a.usersTotal, FEED_INPUT_LIMITS.users, 'usersTotal is at least the users kept');
  assert.equal(a.evidence.length, FEED_INPUT_LIMITS.evidenceLines);
  assert.equal(a.evidence[0]?.text, 'line 0 forged: next line', 'an evidence line stays one line');
  assert.equal(a.lastSeen, NOW + FEED_INPUT_LIMITS.clockSkewMs, 'a clock far ahead is clipped');
  assert.ok(a.firstSeen <= a.lastSeen);
  assert.equal(a.count, 7);
  assert.equal(cleanFeedText('😀😀😀', 4), '😀…', 'a cut never splits a surrogate pair');
  assert.equal(parseFeedAnomalies(AGENT, [monitorAnomaly({ sourceIp: '2001:DB8::0A' })], NOW).accepted[0]?.sourceIp, '2001:db8::0a');
});

test('anomalies that cannot be trusted are dropped and counted, with the reason', () => {
  const bad = [
    null,
    'text',
    monitorAnomaly({ id: '' }),
    monitorAnomaly({ id: 'x'.repeat(200) }),
    monitorAnomaly({ rule: 7 }),
    monitorAnomaly({ severity: 'apocalyptic' }),
    monitorAnomaly({ count: 0 }),
    monitorAnomaly({ count: Number.NaN }),
    monitorAnomaly({ lastSeen: 'yesterday' }),
    monitorAnomaly({ firstSeen: 12 }),
  ];
  const r = parseFeedAnomalies(AGENT, [...bad, monitorAnomaly({ id: 'good' })], NOW);
  assert.deepEqual(r.accepted.map((a) => a.id), ['good']);
  assert.equal(r.dropped, bad.length);
  assert.ok(r.problems.some((p) => /severity "apocalyptic"/.test(p)));
  assert.ok(r.problems.length <= 10, 'the problem list is bounded');
  const noAgent = parseFeedAnomalies({ key: 'has spaces', hostname: 'x' }, [monitorAnomaly()], NOW);
  assert.deepEqual([noAgent.agent, noAgent.accepted.length, noAgent.dropped], [null, 0, 1]);
  assert.equal(parseFeedAnomalies({ key: 'k', hostname: 'Not Valid' }, [monitorAnomaly()], NOW).agent?.hostname, '', 'a bad hostname is blanked, the key still attributes');
  const huge = parseFeedAnomalies(AGENT, Array.from({ length: FEED_INPUT_LIMITS.anomaliesPerBatch + 5 }, (_, i) => monitorAnomaly({ id: `i${i}` })), NOW);
  assert.deepEqual([huge.accepted.length, huge.dropped], [FEED_INPUT_LIMITS.anomaliesPerBatch, 5]);
  assert.deepEqual(parseFeedAnomalies(AGENT, { not: 'a list' }, NOW).accepted, []);
});

test('parseFeedAnomalies is total: arbitrary input never throws', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.jsonValue(), (agent, anomalies) => {
      const r = parseFeedAnomalies(agent, anomalies, NOW);
      assert.ok(Array.isArray(r.accepted));
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.array(fc.dictionary(fc.constantFrom('id', 'rule', 'severity', 'count', 'firstSeen', 'lastSeen', 'sourceIp', 'users', 'evidence', 'summary'), fc.jsonValue())), (items) => {
      const r = parseFeedAnomalies(AGENT, items.map((i) => ({ ...monitorAnomaly(), ...i })), NOW);
      for (const a of r.accepted) assert.ok(FEED_SEVERITIES.includes(a.severity) && a.firstSeen <= a.lastSeen && a.count >= 1);
    }),
    { numRuns: 1000 },
  );
});

test('IP addresses: v4 and v6 (with embedded v4) are told from look-alikes', () => {
  for (const ip of ['0.0.0.0', '203.0.113.255', '::', '::1', '2001:db8::1', 'fe80::1:2:3:4:5:6', '1:2:3:4:5:6:7:8', '::ffff:192.0.2.1', '64:ff9b::198.51.100.7']) assert.ok(normalizeFeedIp(ip) !== null, ip);
  for (const ip of ['256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', ':::', '1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', '::ffff:1.2.3', '12345::', '']) assert.equal(normalizeFeedIp(ip), null, ip);
});

test('feed calls: defaults, a clipped limit, opaque cursors and filters checked field by field', () => {
  assert.deepEqual(parseConsoleCall('feedPage', {}), { ok: true, value: { method: 'feedPage', params: { filter: EMPTY_FEED_FILTER, cursor: null, limit: 200 } } });
  const page = parseConsoleCall('feedPage', {
    limit: 10_000,
    cursor: '1764064800000:42',
    filter: { rule: ' sshd-brute-force ', severity: 'high', severityMatch: 'atLeast', sourceIp: '2001:DB8:', sourceIpMatch: 'prefix', text: '', agent: null },
  });
  assert.deepEqual(page, {
    ok: true,
    value: {
      method: 'feedPage',
      params: { limit: FEED_PAGE_MAX_LIMIT, cursor: '1764064800000:42', filter: { rule: 'sshd-brute-force', severity: 'high', severityMatch: 'atLeast', sourceIp: '2001:db8:', sourceIpMatch: 'prefix', agent: null, text: null } },
    },
  });
  assert.deepEqual(parseConsoleCall('feedCounts', { from: 90_000, to: 200_000 }), { ok: true, value: { method: 'feedCounts', params: { from: 90_000, to: 200_000, filter: EMPTY_FEED_FILTER } } });
  assert.deepEqual(parseConsoleCall('feedItem', { seq: 9 }), { ok: true, value: { method: 'feedItem', params: { seq: 9 } } });
  assert.deepEqual(parseConsoleCall('feedFacets', {}), { ok: true, value: { method: 'feedFacets', params: {} } });

  const refused: Array<[string, unknown, RegExp]> = [
    ['feedPage', { cursor: 'OFFSET 10' }, /not a cursor/],
    ['feedPage', { limit: 0 }, /positive integer/],
    ['feedPage', { filter: { severity: 'urgent' } }, /severity "urgent"/],
    ['feedPage', { filter: { sql: '1=1' } }, /unknown filter "sql"/],
    ['feedPage', { filter: { sourceIp: '10.0.0' } }, /not an IP address/],
    ['feedPage', { filter: { sourceIp: "10.0.0.1' OR 1=1", sourceIpMatch: 'prefix' } }, /not the start of an IP address/],
    ['feedPage', { filter: { text: 'x'.repeat(201) } }, /longer than 200/],
    ['feedPage', { filter: 'critical' }, /must be an object/],
    ['feedCounts', { from: 10, to: 5 }, /from < to/],
    ['feedCounts', { from: 0, to: 2 * 24 * 3_600_000 }, /more than 1440 minutes/],
    ['feedItem', { seq: '7' }, /positive integer/],
    ['feedFacets', { x: 1 }, /unknown parameter/],
  ];
  for (const [method, params, message] of refused) {
    const r = parseConsoleCall(method, params);
    assert.equal(r.ok, false, `${method} ${JSON.stringify(params)} should be refused`);
    if (!r.ok) assert.match(r.error.message, message);
  }
  assert.equal(decodeFeedCursor(encodeFeedCursor({ lastSeen: 1764064800000, seq: 3 }))?.seq, 3);
});

test('the page filters pushed rows exactly as the server filters pages (evidence aside)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-feed-filter-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = AnomalyStore.open(join(dir, 'feed.db'));
  t.after(() => store.close());
  const ips = ['203.0.113.7', '203.0.113.70', '198.51.100.1', '2001:db8::7', null];
  const rules = ['sshd-brute-force', 'sshd-user-enum', 'port-scan'];
  for (const [k, agent] of [AGENT, { key: 'other', hostname: 'edge-2' }].entries()) {
    store.upsertBatch(
      agent,
      Array.from({ length: 120 }, (_, i) => ({
        ...(monitorAnomaly() as unknown as FeedAnomalyInput),
        id: `${k}-${i}`,
        rule: rules[i % 3] as string,
        severity: FEED_SEVERITIES[i % 4] as FeedSeverity,
        sourceIp: ips[i % 5] as string | null,
        lastSeen: NOW + i,
        summary: i % 7 === 0 ? `Root LOGIN spray ${i}` : `quiet ${i}`,
        evidence: [],
      })),
    );
  }
  const rows = (filter: FeedFilter) => {
    const parsed = parseConsoleCall('feedPage', { filter, limit: 500 });
    assert.ok(parsed.ok);
    return parsed.value.method === 'feedPage' ? parsed.value.params.filter : EMPTY_FEED_FILTER;
  };
  const all = store.page({ limit: 1000 }).rows as FeedItemRow[];
  const filters: Array<Partial<FeedFilter>> = [
    { rule: 'port-scan' },
    { severity: 'medium' },
    { severity: 'medium', severityMatch: 'atLeast' },
    { sourceIp: '203.0.113.7' },
    { sourceIp: '203.0.113.7', sourceIpMatch: 'prefix' },
    { sourceIp: '2001:db8:', sourceIpMatch: 'prefix' },
    { agent: 'other' },
    { text: 'login SPRAY' },
    { text: '113.7' },
    { rule: 'sshd-user-enum', severity: 'high', severityMatch: 'atLeast', sourceIp: '203.', sourceIpMatch: 'prefix', text: 'root' },
  ];
  for (const partial of filters) {
    const filter = rows({ ...EMPTY_FEED_FILTER, ...partial });
    const server = store
      .page({
        limit: 1000,
        rule: filter.rule,
        severity: filter.severity,
        severityAtLeast: filter.severityMatch === 'atLeast',
        sourceIp: filter.sourceIp,
        sourceIpPrefix: filter.sourceIpMatch === 'prefix',
        agentKey: filter.agent,
        text: filter.text,
      })
      .rows.map((r) => r.seq);
    const page = all.filter((row) => feedItemMatchesFilter(row, filter)).map((r) => r.seq);
    assert.ok(server.length > 0, `${JSON.stringify(partial)} matches something`);
    assert.deepEqual(page, server, JSON.stringify(partial));
  }
});
