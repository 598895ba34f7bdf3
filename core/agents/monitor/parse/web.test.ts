import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBotProbeFile, isBotProbePath } from './bot-probes.ts';
import { createLineParser } from './line-parser.ts';
import { checkFixture } from './parse-test-support.ts';

test('every nginx and Apache form in fixtures/web.log yields what its annotation says', () => {
  checkFixture('web.log');
});

test('error-log and access-log stamps: local time for the first, the written zone for the second', () => {
  const parser = createLineParser();
  const [nginx] = parser.push('2024/06/14 10:00:01 [error] 1#1: *1 user "bob": password mismatch, client: 198.51.100.1, server: s, request: "GET / HTTP/1.1", host: "h"', 1);
  assert.equal(nginx?.time, new Date(2024, 5, 14, 10, 0, 1).getTime());
  assert.equal(nginx?.program, 'nginx');
  const [apache] = parser.push('[Sat Jul 20 21:39:11.978080 2024] [auth_basic:error] [pid 1] [client 198.51.100.2:5] AH01617: user u: authentication failure for "/": Password Mismatch', 2);
  assert.equal(apache?.time, new Date(2024, 6, 20, 21, 39, 11, 978).getTime());
  assert.equal(apache?.program, 'apache');
  const [access] = parser.push('198.51.100.3 - - [14/Jun/2024:10:02:00 +0200] "GET /pma/ HTTP/1.1" 404 47 "-" "-"', 3);
  assert.equal(access?.time, Date.UTC(2024, 5, 14, 8, 2, 0));
  assert.equal(access?.program, 'http');
});

test('access-log events take the program name the caller gives', () => {
  const parser = createLineParser({ accessLogProgram: 'nginx' });
  const [event] = parser.push('198.51.100.3 - - [14/Jun/2024:10:02:00 +0200] "GET /pma/ HTTP/1.1" 404 47 "-" "-"', 1);
  assert.equal(event?.program, 'nginx');
});

test('an nginx user name cannot move the client: the address is the one in the trailing context', () => {
  const parser = createLineParser();
  const [event] = parser.push(
    '2014/04/03 22:20:40 [error] 30708#0: *3 user "test": password mismatch, client: 203.0.113.66, server: test, request: "GET / HTTP/1.1", host: "localhost:8443"": was not found in "/etc/nginx/.htpasswd", client: 198.51.100.4, server: , request: "GET / HTTP/1.1", host: "localhost:8443"',
    1,
  );
  assert.equal(event?.sourceIp, '198.51.100.4');
});

test('an Apache 2.4 IPv6 client is written without brackets, its port appended; 2.2 wrote no port', () => {
  const parser = createLineParser();
  const lines = [
    '[Fri Jun 14 11:23:02.500000 2024] [auth_basic:error] [pid 1:tid 2] [client 2001:db8::172:50172] AH01617: user u: authentication failure for "/": Password Mismatch',
    '[Fri Jun 14 11:23:02.500000 2024] [auth_basic:error] [pid 1:tid 2] [client 2001:db8::172:8080] AH01617: user u: authentication failure for "/": Password Mismatch',
    '[Fri Jun 14 11:23:02 2024] [error] [client 2001:db8::172:8080] user u: authentication failure for "/": Password Mismatch',
  ];
  assert.deepEqual(
    lines.map((text, i) => parser.push(text, i + 1)[0]?.sourceIp),
    ['2001:db8::172', '2001:db8::172', '2001:db8::172:8080'],
  );
});

test('probe paths: the first segment, under admin/, or a give-away file anywhere', () => {
  for (const path of ['/phpMyAdmin-4.9/index.php', '/pma/', '//admin/pma/scripts/setup.php', '/wp-login.php?redirect=1', '/blog/wp-login.php', '/cgi-bin/test.cgi', '/.git/config', '/roundcube/']) {
    assert.equal(isBotProbePath(path), true, path);
  }
  for (const path of ['/', '/index.html', '/images/pmap.png', '/about/webmailers', '/search?q=phpmyadmin']) assert.equal(isBotProbePath(path), false, path);
  assert.equal(isBotProbeFile('/var/www/html/wp-admin/install.php'), true);
  assert.equal(isBotProbeFile('/var/www/forum/mail.php'), false);
  assert.equal(isBotProbeFile('/opt/site/public/.env'), true, 'outside a known document root, give-away files still count');
  assert.equal(isBotProbeFile('/opt/site/public/pma'), false, 'outside a known document root, the first segment is unknown');
});
