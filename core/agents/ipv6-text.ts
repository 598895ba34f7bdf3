/**
 * The RFC 5952 spelling of an IPv6 address from its eight 16-bit groups: lowercase hex without
 * leading zeros, the first longest run of two or more zero groups written as `::`. Shared by the
 * log parsers (a client's address as evidence) and the executor (a CIDR's canonical text), so an
 * address the monitor reports and the block the executor applies are spelled alike.
 */
export function formatIpv6Groups(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1; // a single zero group is never shortened
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}
