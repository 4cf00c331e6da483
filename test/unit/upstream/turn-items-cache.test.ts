import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expandedRequest, turnItems } from '../../../src/responses/chain.ts';
import type { ChainTurn } from '../../../src/store/requests/chain.ts';
import { cachedTurnItems } from '../../../src/upstream/turn-items-cache.ts';

const turn = (input: string, answer: string): ChainTurn => ({
  id: randomUUID(),
  previousRequestId: null,
  createdBy: 'u',
  state: 'completed',
  deleted: false,
  store: true,
  endpoint: '/v1/responses',
  body: JSON.stringify({ model: 'm', input }),
  responseBody: JSON.stringify({ id: 'resp_x', object: 'response', output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: answer }] }] }),
  responseStatus: 200,
});

describe('cachedTurnItems', () => {
  it('parses a turn once and gives the same items after, equal to turnItems', () => {
    const t = turn('hello', 'hi there');
    const first = cachedTurnItems(t);
    expect(first).toEqual(turnItems(t));
    expect(cachedTurnItems(t)).toBe(first);
    // Keyed by id: another turn with the same bodies is its own entry.
    const twin = { ...t, id: randomUUID() };
    expect(cachedTurnItems(twin)).not.toBe(first);
    expect(cachedTurnItems(twin)).toEqual(first);
  });

  it('freezes the shared items, so no call can change them for the next', () => {
    const items = cachedTurnItems(turn('q', 'a')) as Record<string, unknown>[];
    expect(Object.isFrozen(items)).toBe(true);
    expect(() => {
      (items[0] as Record<string, unknown>).content = 'changed';
    }).toThrow(TypeError);
    expect(() => (items[1]!.content as unknown[]).push('more')).toThrow(TypeError);
  });

  it('expands a chain from cached items exactly as from freshly parsed ones', () => {
    const chain = [turn('one', 'first answer'), turn('two', 'second answer')];
    const request = { model: 'm', input: 'three', previous_response_id: 'resp_y', store: true };
    const fresh = expandedRequest(chain, request);
    expect(expandedRequest(chain, request, cachedTurnItems)).toEqual(fresh);
    expect(expandedRequest(chain, request, cachedTurnItems)).toEqual(fresh);
    expect(fresh.input).toHaveLength(5);
    expect(fresh).not.toHaveProperty('previous_response_id');
  });
});
