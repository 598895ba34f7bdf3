/**
 * Paths that vulnerability scanners request on every server they find: database admin tools,
 * webmail, WordPress logins, CGI scripts, leaked configuration. A request for one of them that the
 * server could not answer (an error-log "not found", a 404 in the access log) is a bot searching.
 *
 * The lists follow what fail2ban's botsearch filters probe for (phpMyAdmin, webmail, WordPress,
 * cgi-bin, mysqladmin) plus files scanners look for today (`.env`, `.git/`, phpunit's
 * eval-stdin.php). A site that serves one of these paths does not answer 404 for it, so its own
 * users are not flagged from the access log; an error log has no status, so a site that runs
 * WordPress and logs a missing wp-login.php would see it flagged (which is also what fail2ban does).
 */

/** First path segments (lower case) that are probes when they start the segment: `pma`, `pma2`, `phpMyAdmin-2.8`. */
const PROBED_SEGMENT_PREFIXES = [
  'phpmyadmin',
  'pma',
  'myadmin',
  'mysqladmin',
  'mysql-admin',
  'sqladmin',
  'dbadmin',
  'cgi-bin',
  'webmail',
  'v-webmail',
  'vwebmail',
  'roundcube',
  'horde',
  'extmail',
  'mail',
  'wp-login.php',
  'wp-signup.php',
  'wp-admin',
  'xmlrpc.php',
  'wp-config.php',
  '.env',
  '.git',
  '.svn',
  '.aws',
  '.ssh',
  '.htpasswd',
  'phpinfo.php',
  'boaform',
  'hnap1',
];

/** Second segments that are probes under these first ones: `/admin/pma`, `/typo3/phpmyadmin`, `/xampp/phpmyadmin`. */
const PROBED_UNDER = ['admin', 'typo3', 'xampp'];
const PROBED_SECOND_PREFIXES = ['phpmyadmin', 'pma', 'myadmin', 'mysqladmin'];

/** Segments that are probes wherever they appear in a path. */
const PROBED_ANYWHERE = ['wp-login.php', 'xmlrpc.php', '.env', '.git', 'eval-stdin.php', 'phpunit', 'cgi-bin'];

/** Document roots of the common packages, so that an error log's file path can be read as a URL path. */
const DOCUMENT_ROOTS = [
  '/var/www/html/',
  '/var/www/localhost/htdocs/',
  '/var/www/',
  '/srv/www/htdocs/',
  '/srv/www/',
  '/srv/http/',
  '/usr/share/nginx/html/',
  '/usr/local/www/',
  '/usr/local/apache2/htdocs/',
  '/home/httpd/html/',
];

/** True when the URL path (query string allowed) is one bots probe for. */
export function isBotProbePath(urlPath: string): boolean {
  const segments = segmentsOf(urlPath);
  const first = segments[0];
  if (first === undefined) return false;
  if (startsWithAny(first, PROBED_SEGMENT_PREFIXES)) return true;
  const second = segments[1];
  if (second !== undefined && PROBED_UNDER.includes(first) && startsWithAny(second, PROBED_SECOND_PREFIXES)) return true;
  return segments.some((segment) => PROBED_ANYWHERE.includes(segment));
}

/** True when the file an error log could not find is one bots probe for (read against a known document root). */
export function isBotProbeFile(filePath: string): boolean {
  const lower = filePath.toLowerCase();
  for (const root of DOCUMENT_ROOTS) {
    if (lower.startsWith(root)) return isBotProbePath(lower.slice(root.length - 1));
  }
  return segmentsOf(lower).some((segment) => PROBED_ANYWHERE.includes(segment));
}

function segmentsOf(path: string): string[] {
  let end = path.length;
  const query = path.indexOf('?');
  if (query >= 0) end = query;
  const hash = path.indexOf('#');
  if (hash >= 0 && hash < end) end = hash;
  return path
    .slice(0, end)
    .toLowerCase()
    .split('/')
    .filter((segment) => segment.length > 0);
}

function startsWithAny(segment: string, prefixes: readonly string[]): boolean {
  for (const prefix of prefixes) if (segment.startsWith(prefix)) return true;
  return false;
}
