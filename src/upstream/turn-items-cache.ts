// The items of completed chain turns, kept parsed per process. Continuing a conversation of
// N turns reads all N stored turns again (DESIGN 11), and parsing their bodies was about a
// tenth of what a 50-turn chain adds to a call (bench P2 chain; CPU profile of the web role).
// A turn is only expanded once chainUsable found it completed, stored and not deleted, and a
// completed row's bodies never change (terminal states are final; a late record only
// replaces TrackingLost, a failure, which no chain uses), so its items can be reused by id.
// Deletion and ownership are still checked on every call, from the row itself. The items are
// frozen: they are shared between calls, and a change to one would reach every later call.
import { LRUCache } from 'lru-cache';
import { turnItems } from '../responses/chain.ts';
import type { ChainTurn } from '../store/requests/chain.ts';

/** Characters of stored bodies whose parsed items are kept, at most (per process). */
export const TURN_CACHE_CHARS = 8 * 1024 * 1024;

/** Each entry's size is its bodies' length, given to set(). */
const cache = new LRUCache<string, readonly unknown[]>({ maxSize: TURN_CACHE_CHARS });

/** A usable (completed) turn's items, parsed on first use and then kept. */
export function cachedTurnItems(turn: ChainTurn): readonly unknown[] {
  const hit = cache.get(turn.id);
  if (hit !== undefined) return hit;
  const items = deepFreeze(turnItems(turn));
  const size = Math.max(1, turn.body.length + (turn.responseBody?.length ?? 0));
  if (size <= TURN_CACHE_CHARS) cache.set(turn.id, items, { size });
  return items;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
