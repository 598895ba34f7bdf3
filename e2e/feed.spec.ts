/**
 * The live anomaly feed, as an analyst works it: in Debian's Chromium against a real
 * `swarmctl console --web` whose feed database was filled with 100,000 anomalies before it
 * started (written with the console's own SQLite store, so this also proves the feed is read
 * back after a restart).
 *
 * Live arrival: the overlay's event stream that will carry anomalies from monitors is built
 * elsewhere, and the console has no other way in (by design: no test hook in the product). So
 * the pause/resume test injects `feed` push frames into the page's WebSocket with Playwright's
 * routeWebSocket, exactly as the service frames them; the service side of live pushes (ingest →
 * batched, coalesced frames on a real WebSocket) is covered in core/console/service.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type WebSocketRoute } from '@playwright/test';
import type { ConsoleEvent, FeedItemRow } from '../core/console/api.ts';
import { AnomalyStore, type AnomalyRecord, type AnomalySeverity } from '../core/store/anomaly-store.ts';
import { ConsolePage } from './console-page.ts';
import { startConsole, type RunningConsole } from './console-process.ts';

const SEEDED = 100_000;
const RULES = ['sshd-brute-force', 'sshd-user-enum', 'web-auth-brute-force', 'port-scan', 'slow-brute-force'];
const SEVERITIES: AnomalySeverity[] = ['low', 'medium', 'high', 'critical'];
const AGENTS = [
  { key: 'Z2NwLWxvZy1tb25pdG9yLWtleQ', hostname: 'gcp-log-monitor' },
  { key: 'YXdzLWxvZy1tb25pdG9yLWtleQ', hostname: 'aws-log-monitor' },
];
/** One anomaly found only by words in its evidence, one only by its summary. */
const EVIDENCE_ONLY = 4242;
const SPRAY = 31337;
/** Rows the DOM may hold: a viewport of rows plus the overscan on both sides, nowhere near 100,000. */
const MAX_ROWS_IN_DOM = 80;

/** Anomaly k (0 is the newest): every field follows from k, so the test knows what to expect where. */
function seededAnomaly(k: number, now: number): AnomalyRecord {
  const count = 5 + (k % 50);
  return {
    id: `seed-${k}`,
    rule: RULES[k % RULES.length] as string,
    detector: 'leaky-bucket',
    sourceIp: `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`,
    count,
    firstSeen: now - k * 1000 - 30_000,
    lastSeen: now - k * 1000,
    severity: SEVERITIES[k % SEVERITIES.length] as AnomalySeverity,
    mitre: 'T1110.001',
    summary: k === SPRAY ? `password spray against 40 accounts (#${k})` : `${count} failed SSH logins (#${k})`,
    users: ['root', 'admin'],
    usersTotal: 2,
    evidence: [0, 1, 2].map((j) => ({
      line: 1000 + k + j,
      text: k === EVIDENCE_ONLY && j === 1 ? 'sshd[4242]: Invalid user oracle-backup-4242 from 10.0.16.146' : `sshd[${k}]: Failed password for root from 10.0.0.${k & 255} port 5${j}222 ssh2`,
      source: '/var/log/auth.log',
    })),
  };
}

function seedFeed(stateDir: string, now: number): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const store = AnomalyStore.open(join(stateDir, 'feed.db'));
  try {
    for (let start = 0; start < SEEDED; start += 5000) {
      for (const [a, agent] of AGENTS.entries()) {
        const batch: AnomalyRecord[] = [];
        for (let k = start; k < start + 5000; k++) if (k % AGENTS.length === a) batch.push(seededAnomaly(k, now));
        store.upsertBatch(agent, batch);
      }
    }
  } finally {
    store.close();
  }
}

/** A feed row as the service pushes it, for an anomaly that "arrives" while the test watches. */
function liveRow(seq: number, summary: string): FeedItemRow {
  const now = Date.now();
  return {
    seq,
    agentKey: AGENTS[0]!.key,
    agentHostname: AGENTS[0]!.hostname,
    id: `live-${seq}`,
    rule: 'sshd-brute-force',
    detector: 'leaky-bucket',
    sourceIp: '203.0.113.99',
    count: 12,
    firstSeen: now - 5000,
    lastSeen: now,
    severity: 'critical',
    mitre: 'T1110.001',
    summary,
    users: ['root'],
    usersTotal: 1,
    evidenceCount: 1,
    receivedAt: now,
    updatedAt: now,
  };
}

let root: string;
let consoleApp: RunningConsole;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'swarm-e2e-feed-'));
  const stateDir = join(root, 'console');
  seedFeed(stateDir, Date.now());
  // No registry and no lab: the feed needs neither, and the console says so in its status.
  consoleApp = await startConsole(stateDir, ['--no-lab', '--hostname', 'soc-console']);
});

test.afterAll(async () => {
  await consoleApp?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('the feed opens on the newest anomaly, with the last hour per minute', async ({ page }, testInfo) => {
  const console = new ConsolePage(page);
  await console.open(consoleApp.url);
  await console.openFeed();
  await expect(console.feedRows.first()).toContainText('(#0)');
  await expect(console.feedRows.first()).toContainText('10.0.0.0');
  await expect(console.feedRows.nth(1)).toContainText('(#1)');
  await expect(console.feedCounts).toHaveText('500 loaded · 100,000 stored');
  // One anomaly a second for the whole hour: every minute bar is there.
  await expect(console.feed.getByText(/^3,\d\d\d anomalies began in the last 60 minutes/)).toBeVisible();
  await expect(console.feedChart.locator('rect')).toHaveCount(60);
  await console.screenshot(testInfo, '10-feed-newest-first');
});

test('scrolling to the end loads the next pages, while the DOM keeps only the rows near the viewport', async ({ page }, testInfo) => {
  const console = new ConsolePage(page);
  await console.open(consoleApp.url);
  await console.openFeed();
  await expect(console.feedRows.first()).toContainText('(#0)');
  let loaded = await console.feedLoadedCount();
  for (let page = 0; page < 6; page++) {
    await console.scrollFeedToEnd();
    const before = loaded;
    await expect.poll(() => console.feedLoadedCount(), { message: 'the next page is loaded' }).toBeGreaterThan(before);
    loaded = await console.feedLoadedCount();
    expect(await console.feedRows.count()).toBeLessThanOrEqual(MAX_ROWS_IN_DOM);
  }
  expect(loaded).toBeGreaterThanOrEqual(3500);
  // The rows at the end are the oldest loaded, in order, and still only a handful are in the DOM.
  await console.scrollFeedToEnd();
  await expect(console.feedRow(`(#${loaded - 1})`)).toBeVisible();
  expect(await console.feedRows.count()).toBeLessThanOrEqual(MAX_ROWS_IN_DOM);
  await console.screenshot(testInfo, '11-feed-scrolled');
});

test('filters narrow the list on the service: severity, rule, source IP and text (evidence included)', async ({ page }, testInfo) => {
  const console = new ConsolePage(page);
  await console.open(consoleApp.url);
  await console.openFeed();
  await expect(console.feedRows.first()).toContainText('(#0)');

  await console.filterFeed({ severity: 'Critical' });
  await expect(console.feedRows.first()).toContainText('(#3)');
  await expect(console.feedRows.nth(1)).toContainText('(#7)');
  for (const row of await console.feedRows.all()) await expect(row).toContainText('critical');

  // Critical (k % 4 == 3) and port-scan (k % 5 == 3): every 20th anomaly from #3.
  await console.filterFeed({ rule: 'port-scan' });
  await expect(console.feedRows.first()).toContainText('(#3)');
  await expect(console.feedRows.nth(1)).toContainText('(#23)');
  await console.screenshot(testInfo, '12-feed-filtered');

  await console.clearFeedFilters();
  await expect(console.feedRows.nth(1)).toContainText('(#1)');
  await console.filterFeed({ sourceIp: '10.0.1.44' });
  await expect(console.feedRows).toHaveCount(1);
  await expect(console.feedRows.first()).toContainText('(#300)');
  await expect(console.feedList).toContainText('10.0.1.44');

  // The start of an address matches every address that begins with it.
  await console.filterFeed({ sourceIp: '10.1.' });
  await expect(console.feedRows.first()).toContainText('(#65536)');
  await expect(console.feedRows.nth(1)).toContainText('(#65537)');

  await console.clearFeedFilters();
  await console.filterFeed({ text: 'PASSWORD SPRAY' });
  await expect(console.feedRows).toHaveCount(1);
  await expect(console.feedRows.first()).toContainText(`(#${SPRAY})`);
  await console.filterFeed({ text: 'oracle-backup-4242' });
  await expect(console.feedRows).toHaveCount(1);
  await expect(console.feedRows.first()).toContainText(`(#${EVIDENCE_ONLY})`);

  await console.filterFeed({ text: 'no such anomaly anywhere' });
  await expect(console.feed.getByText('No anomalies match these filters.')).toBeVisible();
});

test('the keyboard moves the selection and Enter opens the evidence lines with their line numbers', async ({ page }, testInfo) => {
  const console = new ConsolePage(page);
  await console.open(consoleApp.url);
  await console.openFeed();
  await expect(console.feedRows.first()).toContainText('(#0)');
  await console.feedList.focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowUp');
  await expect(console.feedRow('(#1)')).toHaveAttribute('aria-selected', 'true');
  await expect(console.feedList).toHaveAttribute('aria-activedescendant', /^feed-row-\d+$/);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await expect(console.anomalyDetails.getByRole('heading', { level: 3 })).toContainText('(#2)');
  await expect(console.evidenceLines).toHaveCount(3);
  await expect(console.evidenceLines.nth(0)).toContainText('1002');
  await expect(console.evidenceLines.nth(0)).toContainText('sshd[2]: Failed password for root from 10.0.0.2 port 50222 ssh2');
  await expect(console.evidenceLines.nth(2)).toContainText('1004');
  await expect(console.anomalyDetails).toContainText('/var/log/auth.log');
  await expect(console.anomalyDetails).toContainText('T1110.001');
  await console.screenshot(testInfo, '13-feed-details');
  // Focus stayed in the list: triage goes on from the keyboard.
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await expect(console.anomalyDetails.getByRole('heading', { level: 3 })).toContainText('(#3)');
  await page.keyboard.press('Escape');
  await expect(console.anomalyDetails).toHaveCount(0);

  // A click opens another; Close puts the list back to full width.
  await console.openAnomaly('(#4)');
  await expect(console.evidenceLines.nth(0)).toContainText('1004');
  await console.anomalyDetails.getByRole('button', { name: 'Close details' }).click();
  await expect(console.anomalyDetails).toHaveCount(0);
});

test('pause holds new anomalies out of the list and counts them; resume shows them', async ({ page }, testInfo) => {
  let toPage: WebSocketRoute | null = null;
  await page.routeWebSocket(/\/api\/ws$/, (ws) => {
    ws.connectToServer();
    toPage = ws;
  });
  /** A feed push as the service frames it, delivered to the page as if the service sent it. */
  const push = (event: Extract<ConsoleEvent, { type: 'feed' }>) => {
    if (!toPage) throw new Error('the page has not opened its WebSocket');
    toPage.send(JSON.stringify({ event }));
  };
  const console = new ConsolePage(page);
  await console.open(consoleApp.url);
  await console.openFeed();
  await expect(console.feedRows.first()).toContainText('(#0)');

  push({ type: 'feed', added: [liveRow(900_001, 'live: spray from 203.0.113.99')], updated: [], missed: 0, total: SEEDED + 1 });
  await expect(console.feedRows.first()).toContainText('live: spray from 203.0.113.99');
  await expect(console.feedCounts).toContainText('100,001 stored');

  await console.pauseFeed();
  push({ type: 'feed', added: [liveRow(900_002, 'live: arrived while paused')], updated: [], missed: 0, total: SEEDED + 2 });
  push({ type: 'feed', added: [liveRow(900_003, 'live: also while paused')], updated: [], missed: 0, total: SEEDED + 3 });
  await expect(console.feedHeld).toHaveText('Paused · 2 new');
  await expect(console.feedRow('arrived while paused')).toHaveCount(0);
  await expect(console.feedRows.first()).toContainText('live: spray from 203.0.113.99');
  await console.screenshot(testInfo, '14-feed-paused');

  await console.resumeFeed();
  await expect(console.feedRows.first()).toContainText('live: also while paused');
  await expect(console.feedRows.nth(1)).toContainText('live: arrived while paused');
  await expect(console.feedHeld).toHaveCount(0);
  await console.screenshot(testInfo, '15-feed-resumed');
});
