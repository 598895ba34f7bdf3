/**
 * The console as an analyst sees it: every method is one thing a person does or looks at, found
 * by role and accessible name (what a screen reader announces), never by CSS structure.
 */
import { expect, type Locator, type Page, type TestInfo } from '@playwright/test';

export class ConsolePage {
  readonly page: Page;

  constructor(page: Page) {
    this.page = page;
  }

  async open(url: string): Promise<void> {
    await this.page.goto(url);
    await expect(this.thisNode).toBeVisible();
  }

  get thisNode(): Locator {
    return this.page.getByRole('region', { name: 'This node' });
  }

  get pendingSection(): Locator {
    return this.page.getByRole('region', { name: 'Pending handshakes' });
  }

  get peersTable(): Locator {
    return this.page.getByRole('table', { name: 'Peers' });
  }

  get outgoingSection(): Locator {
    return this.page.getByRole('region', { name: 'Outgoing requests' });
  }

  get notifications(): Locator {
    return this.page.getByRole('status');
  }

  pendingRequest(hostname: string): Locator {
    return this.pendingSection.getByRole('listitem').filter({ hasText: hostname });
  }

  peerRow(hostname: string): Locator {
    return this.peersTable.getByRole('row').filter({ hasText: hostname });
  }

  async approveHandshake(hostname: string, caps: string[]): Promise<void> {
    await this.pendingSection.getByRole('button', { name: `Approve ${hostname}`, exact: true }).click();
    const dialog = this.page.getByRole('dialog', { name: `Approve ${hostname}` });
    await expect(dialog).toBeVisible();
    for (const box of await dialog.getByRole('checkbox').all()) await box.uncheck();
    for (const cap of caps) await dialog.getByRole('checkbox', { name: cap }).check();
    await dialog.getByRole('button', { name: 'Approve', exact: true }).click();
    await expect(dialog).toBeHidden();
  }

  async rejectHandshake(hostname: string, reason: string): Promise<void> {
    await this.pendingSection.getByRole('button', { name: `Reject ${hostname}`, exact: true }).click();
    const dialog = this.page.getByRole('dialog', { name: `Reject ${hostname}` });
    await dialog.getByRole('textbox', { name: 'Reason' }).fill(reason);
    await dialog.getByRole('button', { name: 'Reject', exact: true }).click();
    await expect(dialog).toBeHidden();
  }

  async revokePeer(hostname: string, reason: string): Promise<void> {
    await this.peersTable.getByRole('button', { name: `Revoke ${hostname}`, exact: true }).click();
    const dialog = this.page.getByRole('dialog', { name: `Revoke ${hostname}` });
    await dialog.getByRole('textbox', { name: 'Reason' }).fill(reason);
    await dialog.getByRole('button', { name: 'Revoke', exact: true }).click();
    await expect(dialog).toBeHidden();
  }

  async requestTrust(peer: string, justification: string): Promise<void> {
    const form = this.page.getByRole('form', { name: 'Request trust' });
    await form.getByRole('textbox', { name: 'Peer' }).fill(peer);
    await form.getByRole('textbox', { name: 'Justification' }).fill(justification);
    await form.getByRole('button', { name: 'Send request' }).click();
  }

  async openSettings(): Promise<Locator> {
    await this.page.getByRole('button', { name: 'Settings', exact: true }).or(this.page.getByRole('tab', { name: 'Settings', exact: true })).click();
    const form = this.page.getByRole('form', { name: 'Settings' });
    await expect(form).toBeVisible();
    return form;
  }

  async openConsole(): Promise<void> {
    await this.page.getByRole('button', { name: 'Console', exact: true }).or(this.page.getByRole('tab', { name: 'Console', exact: true })).click();
    await expect(this.thisNode).toBeVisible();
  }

  // ---- the anomaly feed ----------------------------------------------------------------------

  async openFeed(): Promise<void> {
    await this.page.getByRole('button', { name: 'Feed', exact: true }).click();
    await expect(this.feed).toBeVisible();
  }

  get feed(): Locator {
    return this.page.getByRole('region', { name: 'Anomaly feed' });
  }

  get feedList(): Locator {
    return this.feed.getByRole('listbox', { name: 'Anomalies' });
  }

  /** The rows in the DOM (the list is virtualized: only those near the viewport exist). */
  get feedRows(): Locator {
    return this.feedList.getByRole('option');
  }

  feedRow(text: string | RegExp): Locator {
    return this.feedRows.filter({ hasText: text });
  }

  /** "2,500 loaded · 100,000 stored" */
  get feedCounts(): Locator {
    return this.feed.getByTestId('feed-counts');
  }

  async feedLoadedCount(): Promise<number> {
    const text = (await this.feedCounts.textContent()) ?? '';
    return Number(/^([\d,]+)/.exec(text.trim())?.[1]?.replace(/,/g, '') ?? NaN);
  }

  /** Scrolls the list to the end of what is loaded, as a mouse wheel held down would. */
  async scrollFeedToEnd(): Promise<void> {
    await this.feedList.evaluate((list) => list.scrollTo({ top: list.scrollHeight }));
  }

  get feedChart(): Locator {
    return this.feed.getByRole('img', { name: 'Anomalies per minute, last 60 minutes' });
  }

  get feedFilters(): Locator {
    return this.feed.getByRole('search', { name: 'Feed filters' });
  }

  async filterFeed(filter: { severity?: string; rule?: string; agent?: string; sourceIp?: string; text?: string }): Promise<void> {
    const form = this.feedFilters;
    if (filter.severity !== undefined) await form.getByLabel('Severity').selectOption({ label: filter.severity });
    if (filter.rule !== undefined) await form.getByLabel('Rule').selectOption({ label: filter.rule });
    if (filter.agent !== undefined) await form.getByLabel('Agent').selectOption({ label: filter.agent });
    if (filter.sourceIp !== undefined) await form.getByRole('searchbox', { name: 'Source IP' }).fill(filter.sourceIp);
    if (filter.text !== undefined) await form.getByRole('searchbox', { name: 'Search' }).fill(filter.text);
  }

  async clearFeedFilters(): Promise<void> {
    await this.feedFilters.getByRole('button', { name: 'Clear filters' }).click();
  }

  get anomalyDetails(): Locator {
    return this.page.getByRole('region', { name: 'Anomaly details' });
  }

  get evidenceLines(): Locator {
    return this.anomalyDetails.getByRole('region', { name: 'Evidence' }).getByRole('listitem');
  }

  async openAnomaly(text: string | RegExp): Promise<void> {
    await this.feedRow(text).click();
    await expect(this.anomalyDetails).toBeVisible();
  }

  async pauseFeed(): Promise<void> {
    await this.feed.getByRole('button', { name: 'Pause live feed' }).click();
  }

  async resumeFeed(): Promise<void> {
    await this.feed.getByRole('button', { name: 'Resume live feed' }).click();
  }

  /** "Paused · 3 new", shown while the feed is paused. */
  get feedHeld(): Locator {
    return this.feed.getByTestId('feed-held');
  }

  /** Saves a full-page screenshot as a test artifact (and attaches it to the report). */
  async screenshot(testInfo: TestInfo, name: string): Promise<void> {
    const path = testInfo.outputPath(`${name}.png`);
    await this.page.screenshot({ path, fullPage: true });
    await testInfo.attach(name, { path, contentType: 'image/png' });
  }
}
