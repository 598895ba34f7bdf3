import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CONTENT_SECURITY_POLICY, isAllowedPermission, isAllowedRequestUrl, isAppIndexUrl, isInside, withContentSecurityPolicy } from './policy.ts';

const RENDERER_DIR = join('/opt', 'Swarm SOC', 'resources', 'app.asar', 'dist', 'renderer');
const INDEX = join(RENDERER_DIR, 'index.html');
const INDEX_URL = pathToFileURL(INDEX).href;

describe('isAppIndexUrl', () => {
  test('accepts our index page, also with a hash route or query', () => {
    assert.equal(isAppIndexUrl(INDEX_URL, INDEX), true);
    assert.equal(isAppIndexUrl(`${INDEX_URL}#/peers`, INDEX), true);
    assert.equal(isAppIndexUrl(`${INDEX_URL}?lab=1`, INDEX), true);
    assert.equal(isAppIndexUrl(INDEX_URL.replace('file:///', 'file://localhost/'), INDEX), true);
  });

  test('refuses remote pages, other local files and look-alikes', () => {
    assert.equal(isAppIndexUrl('https://evil.example/index.html', INDEX), false);
    assert.equal(isAppIndexUrl(pathToFileURL(join(RENDERER_DIR, 'other.html')).href, INDEX), false);
    assert.equal(isAppIndexUrl(pathToFileURL('/tmp/index.html').href, INDEX), false);
    assert.equal(isAppIndexUrl(`${pathToFileURL(RENDERER_DIR).href}/../renderer/index.html.evil`, INDEX), false);
    assert.equal(isAppIndexUrl(INDEX_URL.replace('file:///', 'file://attacker-host/'), INDEX), false);
    assert.equal(isAppIndexUrl('about:blank', INDEX), false);
    assert.equal(isAppIndexUrl('not a url', INDEX), false);
  });

  test('normalises dot segments before comparing', () => {
    const dotted = `${pathToFileURL(RENDERER_DIR).href}/../renderer/./index.html`;
    assert.equal(isAppIndexUrl(dotted, INDEX), true);
  });
});

describe('isAllowedRequestUrl', () => {
  test('lets the renderer load its own files', () => {
    assert.equal(isAllowedRequestUrl(INDEX_URL, RENDERER_DIR), true);
    assert.equal(isAllowedRequestUrl(pathToFileURL(join(RENDERER_DIR, 'app.js')).href, RENDERER_DIR), true);
    assert.equal(isAllowedRequestUrl(pathToFileURL(join(RENDERER_DIR, 'fonts', 'inter.woff2')).href, RENDERER_DIR), true);
    assert.equal(isAllowedRequestUrl('data:image/png;base64,iVBORw0KGgo=', RENDERER_DIR), true);
    assert.equal(isAllowedRequestUrl('devtools://devtools/bundled/devtools_app.html', RENDERER_DIR), true);
  });

  test('blocks every remote scheme', () => {
    for (const url of ['https://example.com/x.js', 'http://127.0.0.1:9000/', 'ws://127.0.0.1:7000/api/ws', 'wss://example.com/', 'ftp://example.com/', 'blob:null/1234', 'chrome://settings', 'javascript:alert(1)']) {
      assert.equal(isAllowedRequestUrl(url, RENDERER_DIR), false, url);
    }
  });

  test('blocks local files outside the renderer directory (identity keys, ~/.ssh, …)', () => {
    assert.equal(isAllowedRequestUrl(pathToFileURL('/home/analyst/.swarm/identity.key').href, RENDERER_DIR), false);
    assert.equal(isAllowedRequestUrl(pathToFileURL(join(RENDERER_DIR, '..', 'electron', 'main.cjs')).href, RENDERER_DIR), false);
    assert.equal(isAllowedRequestUrl(`${pathToFileURL(RENDERER_DIR).href}/../../package.json`, RENDERER_DIR), false);
    assert.equal(isAllowedRequestUrl(pathToFileURL(`${RENDERER_DIR}-evil/app.js`).href, RENDERER_DIR), false);
    assert.equal(isAllowedRequestUrl('file://fileserver/share/app.js', RENDERER_DIR), false);
  });

  test('refuses what does not parse', () => {
    assert.equal(isAllowedRequestUrl('', RENDERER_DIR), false);
    assert.equal(isAllowedRequestUrl('::', RENDERER_DIR), false);
  });
});

describe('isInside', () => {
  test('is true for the directory and its descendants only', () => {
    assert.equal(isInside('/a/b', '/a/b'), true);
    assert.equal(isInside('/a/b/c/d', '/a/b'), true);
    assert.equal(isInside('/a/bc', '/a/b'), false);
    assert.equal(isInside('/a', '/a/b'), false);
  });
});

describe('isAllowedPermission', () => {
  test('grants notifications to our page only', () => {
    assert.equal(isAllowedPermission('notifications', INDEX_URL, INDEX), true);
    assert.equal(isAllowedPermission('notifications', 'https://evil.example/', INDEX), false);
  });

  test('denies everything else, even to our page', () => {
    for (const permission of ['media', 'geolocation', 'clipboard-read', 'openExternal', 'fullscreen', 'hid', 'serial', 'usb', 'display-capture', 'unknown']) {
      assert.equal(isAllowedPermission(permission, INDEX_URL, INDEX), false, permission);
    }
  });
});

describe('CONTENT_SECURITY_POLICY', () => {
  const directives = new Map(CONTENT_SECURITY_POLICY.split(';').map((d) => {
    const [name, ...values] = d.trim().split(/\s+/);
    return [name ?? '', values.join(' ')] as const;
  }));

  test('denies by default and allows only our own files', () => {
    assert.equal(directives.get('default-src'), "'none'");
    assert.equal(directives.get('script-src'), "'self'");
    assert.equal(directives.get('style-src'), "'self'");
    assert.equal(directives.get('img-src'), "'self' data:");
    assert.equal(directives.get('connect-src'), "'self'");
    assert.equal(directives.get('font-src'), "'self'");
    assert.equal(directives.get('base-uri'), "'none'");
    assert.equal(directives.get('form-action'), "'none'");
    assert.equal(directives.get('frame-ancestors'), "'none'");
  });

  test('has no inline script, eval, wildcard or remote source', () => {
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-|\*|https?:|wss?:/);
  });

  test('is also the <meta> policy of the renderer page (headers may not reach file:// loads)', () => {
    const html = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'renderer', 'index.html'), 'utf8');
    const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/i.exec(html);
    assert.ok(meta, 'renderer/index.html carries a CSP meta tag');
    // frame-ancestors is ignored (with a console warning) in a <meta> policy; the header carries it.
    const headerOnly = /^(frame-ancestors|report-uri|sandbox)\b/;
    const withoutHeaderOnly = (policy: string) => policy.split(';').map((d) => d.trim()).filter((d) => d !== '' && !headerOnly.test(d)).join('; ');
    assert.equal(withoutHeaderOnly(meta[1] ?? ''), withoutHeaderOnly(CONTENT_SECURITY_POLICY));
  });
});

describe('withContentSecurityPolicy', () => {
  test('adds the policy and keeps the other headers', () => {
    const headers = withContentSecurityPolicy({ 'Content-Type': ['text/html'], 'X-Single': 'value' });
    assert.deepEqual(headers, { 'Content-Type': ['text/html'], 'X-Single': ['value'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
  });

  test('keeps an existing policy beside ours (both apply, so nothing widens)', () => {
    const headers = withContentSecurityPolicy({ 'content-security-policy': ["script-src 'self' 'unsafe-inline'"] });
    assert.deepEqual(headers, { 'content-security-policy': ["script-src 'self' 'unsafe-inline'", CONTENT_SECURITY_POLICY] });
  });

  test('works when the response has no headers', () => {
    assert.deepEqual(withContentSecurityPolicy(undefined), { 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
  });
});
