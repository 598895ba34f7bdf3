import { useCallback, useState } from 'react';

/**
 * Which row of a table has its dialog open (the row's key, or null). `open` and `close` are
 * stable, so memoized rows handed `open` skip rendering when their row did not change.
 */
export function useRowDialog(): { openKey: string | null; open: (key: string) => void; close: () => void } {
  const [openKey, setOpenKey] = useState<string | null>(null);
  const close = useCallback(() => setOpenKey(null), []);
  return { openKey, open: setOpenKey, close };
}
