/**
 * The shell's security decisions as pure functions: which URL is our own page, which requests
 * may load, which permissions a page gets, and the Content-Security-Policy. main.ts wires them
 * into Electron; the unit tests (policy.test.ts) pin them down without an Electron binary.
 *
 * The console only ever shows one local page (dist/renderer/index.html) that talks to the main
 * process over IPC, so everything else — remote URLs, other local files, new windows — is refused.
 */
import { isAbsolute, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * No inline script or style, no eval, no remote anything: the renderer bundle is static files next
 * to index.html, and its only channel to the outside world is the preload bridge.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Schemes a request may use: our files, and the DevTools frontend (development builds only). */
const ALLOWED_SCHEMES = new Set(['file:', 'devtools:', 'data:']);

/** Local file path of a file:// URL, or null for anything else (other schemes, UNC hosts, junk). */
export function filePathOfUrl(rawUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return null;
  }
  if (url.protocol !== 'file:') return null;
  // file://server/share is a network path (SMB on Windows): never ours.
  if (url.host !== '' && url.host !== 'localhost') return null;
  try {
    return normalize(fileURLToPath(url));
  } catch {
    return null;
  }
}

/** True when `path` is `dir` itself or inside it (no `..` escape). */
export function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * True for the app's own index page (any #fragment or ?query: the renderer may route by hash).
 * Used for navigation guards, the IPC sender check and permission checks.
 */
export function isAppIndexUrl(rawUrl: string, indexPath: string): boolean {
  const path = filePathOfUrl(rawUrl);
  return path !== null && path === normalize(indexPath);
}

/**
 * Whether a request may load at all. file:// only inside the renderer directory, so a script
 * injected into the page still cannot read ~/.ssh or the identity key through a file:// URL.
 */
export function isAllowedRequestUrl(rawUrl: string, rendererDir: string): boolean {
  let scheme: string;
  try {
    scheme = new URL(rawUrl).protocol;
  } catch {
    return false;
  }
  if (!ALLOWED_SCHEMES.has(scheme)) return false;
  if (scheme !== 'file:') return true;
  const path = filePathOfUrl(rawUrl);
  return path !== null && isInside(path, normalize(rendererDir));
}

/**
 * Permissions the console page may have: desktop notifications for new handshakes and incidents,
 * nothing else (no camera, microphone, geolocation, clipboard reads, USB, serial, HID, …), and
 * only for our own page.
 */
export function isAllowedPermission(permission: string, requestingUrl: string, indexPath: string): boolean {
  return permission === 'notifications' && isAppIndexUrl(requestingUrl, indexPath);
}

export type ResponseHeaders = Record<string, string | string[]>;

/**
 * Response headers with our CSP added. Any CSP the response already carried stays too: several
 * policies only ever narrow what is allowed, so adding ours can never widen theirs.
 */
export function withContentSecurityPolicy(headers: ResponseHeaders | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name] = Array.isArray(value) ? [...value] : [value];
  const existing = Object.keys(out).find((name) => name.toLowerCase() === 'content-security-policy');
  if (existing === undefined) out['Content-Security-Policy'] = [CONTENT_SECURITY_POLICY];
  else out[existing] = [...(out[existing] ?? []), CONTENT_SECURITY_POLICY];
  return out;
}
