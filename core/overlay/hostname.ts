/** Hostnames are single DNS labels: lowercase letters, digits and inner hyphens, 1-63 characters. */
const HOSTNAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function isValidHostname(name: unknown): name is string {
  return typeof name === 'string' && HOSTNAME_PATTERN.test(name);
}

export const HOSTNAME_RULE = 'a hostname is 1-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen';
