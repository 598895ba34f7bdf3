/**
 * The tags fail2ban gives meaning to inside a failregex/prefregex/ignoreregex (documented in
 * `man jail.conf`, FILTER FILES): address tags such as `<HOST>` and capture tags `<F-NAME>...</F-NAME>`.
 * They are expanded here into Python regex text with named groups, before the Python-to-JavaScript
 * translation, so that a filter's own regex and the tags go through one translator.
 *
 * Every group we introduce is named `f2b_<field>`; `fieldOfGroup` maps a group name back to the field
 * (`ip4`, `ip6`, `dns`, `user`, `alt_user1`, `nofail`, `mlfid`, `content`, ...).
 */
import { DUPLICATE_NAME_SEPARATOR } from './python-regex.ts';

export const FIELD_GROUP_PREFIX = 'f2b_';

// Dotted quad; fail2ban's own test data keeps leading zeros ("192.030.0.6"), so octets are 1-3 digits.
const IPV4 = '(?:\\d{1,3}\\.){3}\\d{1,3}';
// Colon-hex groups with at most one `::`-style gap; the last group may be empty only after a colon (`fe80::`).
const IPV6 = '(?:[0-9A-Fa-f]{1,4}:{1,2}|:{1,2}){1,7}(?:[0-9A-Fa-f]{1,4}|(?<=:):)';
// An IPv4 address written as IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is reported as the IPv4 address.
const MAPPED_IPV4_PREFIX = '(?:::[fF]{4,6}:)?';
// Host names: word characters, dots and dashes, ending in a word character.
const HOSTNAME = '[\\w.-]*\\w';

function group(field: string, body: string): string {
  return `(?P<${FIELD_GROUP_PREFIX}${field}>${body})`;
}

const ADDRESS = `\\[?(?:${MAPPED_IPV4_PREFIX}${group('ip4', IPV4)}|${group('ip6', IPV6)})\\]?`;

/** Expansions of the address tags (fail2ban also accepts an address in square brackets). */
const ADDRESS_TAGS: Readonly<Record<string, string>> = {
  IP4: group('ip4', IPV4),
  IP6: group('ip6', IPV6),
  DNS: group('dns', HOSTNAME),
  ADDR: ADDRESS,
  HOST: `(?:${ADDRESS}|${group('dns', HOSTNAME)})`,
  CIDR: '\\d{1,3}',
  SUBNET: `\\[?(?:${MAPPED_IPV4_PREFIX}${group('ip4', IPV4)}|${group('ip6', IPV6)})(?:/${group('cidr', '\\d{1,3}')})?\\]?`,
};

export type TagExpansion = { readonly ok: true; readonly pattern: string } | { readonly ok: false; readonly message: string };

const TAG = /<(\/?)(F-[A-Za-z0-9_]+|HOST|ADDR|IP4|IP6|DNS|CIDR|SUBNET|SKIPLINES)(\/?)>/g;

/** `F-ALT_USER1` -> `alt_user1`: the field name the tag stores. */
export function fieldOfCaptureTag(tag: string): string {
  return tag.slice(2).toLowerCase();
}

/** The field a group name stands for, or null for a filter author's own group. */
export function fieldOfGroup(groupName: string): string | null {
  if (!groupName.startsWith(FIELD_GROUP_PREFIX)) return null;
  const field = groupName.slice(FIELD_GROUP_PREFIX.length);
  const duplicate = field.indexOf(DUPLICATE_NAME_SEPARATOR);
  return duplicate < 0 ? field : field.slice(0, duplicate);
}

/**
 * In fail2ban a tag's group is named after its field, so filters refer back to `<F-USER>` as
 * `(?P=user)` (roundcube-auth.conf does). Our groups carry a prefix; point such references at them
 * unless the filter defines a group of that name itself.
 */
function resolveFieldReferences(pattern: string): string {
  return pattern.replace(/\(\?(P=|\()([A-Za-z_]\w*)\)/g, (whole: string, kind: string, name: string) => {
    if (pattern.includes(`(?P<${name}>`) || !pattern.includes(`(?P<${FIELD_GROUP_PREFIX}${name}>`)) return whole;
    return `(?${kind}${FIELD_GROUP_PREFIX}${name})`;
  });
}

/** Expands fail2ban's regex tags into Python regex text; never throws. */
export function expandRegexTags(pattern: string): TagExpansion {
  const open: string[] = [];
  let failure: string | null = null;
  const expanded = pattern.replace(TAG, (whole: string, closing: string, name: string, selfClosing: string) => {
    if (failure !== null) return whole;
    if (name === 'SKIPLINES') {
      failure = '<SKIPLINES> (the multi-line buffer of maxlines > 1) is not supported; use <F-MLFID> session tracking instead';
      return whole;
    }
    if (!name.startsWith('F-')) {
      if (closing !== '' || selfClosing !== '') return whole;
      return ADDRESS_TAGS[name] as string;
    }
    if (selfClosing !== '') {
      if (closing !== '') {
        failure = `</${name}/> is not a tag`;
        return whole;
      }
      // The short form captures a word (scanlogd.conf's `<F-PORT/>`); observed with fail2ban-regex 1.0.2.
      return `(?P<${FIELD_GROUP_PREFIX}${fieldOfCaptureTag(name)}>\\w+)`;
    }
    if (closing === '') {
      open.push(name);
      return `(?P<${FIELD_GROUP_PREFIX}${fieldOfCaptureTag(name)}>`;
    }
    const last = open.pop();
    if (last !== name) {
      failure = last === undefined ? `</${name}> closes nothing` : `</${name}> closes <${last}>`;
      return whole;
    }
    return ')';
  });
  if (failure !== null) return { ok: false, message: failure };
  if (open.length > 0) return { ok: false, message: `<${open[open.length - 1] as string}> is never closed` };
  return { ok: true, pattern: resolveFieldReferences(expanded) };
}
