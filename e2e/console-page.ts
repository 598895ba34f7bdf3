/**
 * The console as an analyst sees it: every method is one thing a person does or looks at, found
 * by role and accessible name (what a screen reader announces), never by CSS structure.
 */
import { expect, type Locator, type Page, type TestInfo } from '@playwright/test';
import { parseRemaining, type TtlUnit } from '../renderer/src/format/duration.ts';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

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

  // ---- incidents and proposals -------------------------------------------------------------

  async openIncidents(): Promise<void> {
    await this.page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Incidents', exact: true }).click();
    await expect(this.incidents).toBeVisible();
  }

  get incidents(): Locator {
    return this.page.getByRole('region', { name: 'Incidents', exact: true });
  }

  get incidentsTable(): Locator {
    return this.incidents.getByRole('table', { name: 'Incidents', exact: true });
  }

  /** The row of the incident whose source is this address (or CIDR). */
  incidentRow(source: string): Locator {
    return this.incidentsTable.getByRole('row').filter({ has: this.page.getByRole('button', { name: new RegExp(`^${escapeRegExp(source)}(/\\d+)?$`) }) });
  }

  get incidentDetails(): Locator {
    return this.page.getByRole('region', { name: 'Incident details' });
  }

  /** The block proposed for the open incident, with its Approve / Edit / Reject buttons and the executors' results. */
  get proposal(): Locator {
    return this.incidentDetails.getByRole('region', { name: 'Proposed block' });
  }

  get incidentEvidence(): Locator {
    return this.incidentDetails.getByRole('region', { name: 'Evidence' }).getByRole('listitem');
  }

  get correlatedAnomalies(): Locator {
    return this.incidentDetails.getByRole('table', { name: 'Correlated anomalies' });
  }

  async openIncident(source: string): Promise<void> {
    await this.incidentRow(source).getByRole('button').first().click();
    await expect(this.incidentDetails.getByRole('heading', { level: 3 })).toContainText(source);
  }

  /** One click: the block as proposed. */
  async approveProposalFor(source: string): Promise<void> {
    await this.openIncident(source);
    await this.proposal.getByRole('button', { name: 'Approve', exact: true }).click();
  }

  /** Edit, change what is given, then approve the edited block. */
  async editAndApproveProposalFor(source: string, edit: { cidr?: string; ttl?: { amount: number; unit: TtlUnit }; executors?: string[] }): Promise<void> {
    await this.openIncident(source);
    await this.proposal.getByRole('button', { name: 'Edit', exact: true }).click();
    const dialog = this.page.getByRole('dialog', { name: /^Edit block of / });
    await expect(dialog).toBeVisible();
    if (edit.cidr !== undefined) await dialog.getByRole('textbox', { name: 'Block (address or CIDR)' }).fill(edit.cidr);
    if (edit.ttl !== undefined) {
      await dialog.getByRole('spinbutton', { name: 'Block for' }).fill(String(edit.ttl.amount));
      await dialog.getByRole('combobox', { name: 'Unit' }).selectOption(edit.ttl.unit);
    }
    if (edit.executors !== undefined) {
      for (const box of await dialog.getByRole('checkbox').all()) await box.uncheck();
      for (const executor of edit.executors) await dialog.getByRole('checkbox', { name: executor }).check();
    }
    await dialog.getByRole('button', { name: 'Approve edited block' }).click();
    await expect(dialog).toBeHidden();
  }

  async rejectProposalFor(source: string, reason: string): Promise<void> {
    await this.openIncident(source);
    await this.proposal.getByRole('button', { name: 'Reject', exact: true }).click();
    const dialog = this.page.getByRole('dialog', { name: /^Reject block of / });
    await dialog.getByRole('textbox', { name: 'Reason' }).fill(reason);
    await dialog.getByRole('button', { name: 'Reject', exact: true }).click();
    await expect(dialog).toBeHidden();
  }

  /** An executor's answer to the approval of the open incident's proposal (applied / refused / failed …). */
  executorResult(executor: string): Locator {
    return this.proposal.getByRole('table', { name: 'Executor results' }).getByRole('row').filter({ hasText: executor });
  }

  // ---- active decisions ---------------------------------------------------------------------

  async openDecisions(): Promise<void> {
    await this.page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Decisions', exact: true }).click();
    await expect(this.page.getByRole('region', { name: 'Active decisions' })).toBeVisible();
  }

  get activeDecisions(): Locator {
    return this.page.getByRole('table', { name: 'Active decisions' });
  }

  get endedDecisions(): Locator {
    return this.page.getByRole('table', { name: 'Ended decisions' });
  }

  /** A block in force, by its CIDR (e.g. 198.51.100.23/32). */
  decisionRow(cidr: string): Locator {
    return this.activeDecisions.getByRole('row').filter({ has: this.page.getByRole('rowheader', { name: cidr, exact: true }) });
  }

  endedDecisionRow(cidr: string): Locator {
    return this.endedDecisions.getByRole('row').filter({ has: this.page.getByRole('rowheader', { name: cidr, exact: true }) });
  }

  /** Seconds the block of `cidr` has left, as its live countdown shows them (NaN when it shows none). */
  async remainingTtlSeconds(cidr: string): Promise<number> {
    const text = (await this.decisionRow(cidr).getByRole('timer').textContent()) ?? '';
    return parseRemaining(text) ?? NaN;
  }

  async revokeDecision(cidr: string, reason = ''): Promise<void> {
    await this.decisionRow(cidr).getByRole('button', { name: new RegExp(`^Revoke ${escapeRegExp(cidr)} on `) }).click();
    const dialog = this.page.getByRole('dialog', { name: `Revoke block of ${cidr}` });
    await expect(dialog).toBeVisible();
    if (reason) await dialog.getByRole('textbox', { name: 'Reason' }).fill(reason);
    await dialog.getByRole('button', { name: 'Revoke', exact: true }).click();
    await expect(dialog).toBeHidden();
  }

  // ---- audit ----------------------------------------------------------------------------------

  async openAudit(): Promise<void> {
    await this.page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Audit', exact: true }).click();
    await expect(this.page.getByRole('region', { name: 'Audit log' })).toBeVisible();
  }

  /** "hash chain verifies (12 entries)" or "BROKEN at entry 7: …". */
  get auditVerdict(): Locator {
    return this.page.getByTestId('audit-verdict');
  }

  get auditEntries(): Locator {
    return this.page.getByRole('table', { name: 'Audit entries' }).getByRole('row');
  }

  /** Audit rows by action (e.g. mitigation.approved), newest first. */
  auditEntry(action: string): Locator {
    return this.auditEntries.filter({ has: this.page.getByRole('rowheader', { name: action, exact: true }) });
  }

  /** Saves a full-page screenshot as a test artifact (and attaches it to the report). */
  async screenshot(testInfo: TestInfo, name: string): Promise<void> {
    const path = testInfo.outputPath(`${name}.png`);
    await this.page.screenshot({ path, fullPage: true });
    await testInfo.attach(name, { path, contentType: 'image/png' });
  }
}
