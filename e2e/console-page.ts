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

  /** Saves a full-page screenshot as a test artifact (and attaches it to the report). */
  async screenshot(testInfo: TestInfo, name: string): Promise<void> {
    const path = testInfo.outputPath(`${name}.png`);
    await this.page.screenshot({ path, fullPage: true });
    await testInfo.attach(name, { path, contentType: 'image/png' });
  }
}
