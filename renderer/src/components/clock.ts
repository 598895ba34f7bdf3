/**
 * One shared clock for every relative time on the page ("3 min ago"). It ticks once a second
 * only while something shows a time, and components read it through useSyncExternalStore with a
 * snapshot that is the formatted text, so a tick re-renders only the times whose text changed.
 */
import { useSyncExternalStore } from 'react';

const TICK_MS = 1000;

let now = Date.now();
let timer: ReturnType<typeof setInterval> | null = null;
const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  if (timer === null) {
    now = Date.now();
    timer = setInterval(() => {
      now = Date.now();
      for (const notify of [...listeners]) notify();
    }, TICK_MS);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  };
}

/** Text derived from the current time; the component re-renders when the text changes. */
export function useClockText(format: (now: Date) => string): string {
  return useSyncExternalStore(subscribe, () => format(new Date(now)));
}
