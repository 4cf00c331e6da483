import { describe, expect, it } from 'vitest';
import { addCountsText } from '../../../src/responses/histogram.ts';

/** The reference: b added into `into` element-wise, from arrays. */
function addInto(into: number[], b: readonly number[]): void {
  for (let i = 0; i < b.length; i++) into[i] = (into[i] ?? 0) + (b[i] ?? 0);
}

describe('addCountsText', () => {
  it('adds comma-separated counts element-wise, as addInto adds the same arrays', () => {
    const cases: number[][] = [[], [0], [5], [0, 0, 3, 12], [1, -1, 0, 2147483647], [0, 7, 0, 0, 0, 0, 1]];
    for (const a of cases) {
      for (const b of cases) {
        const viaText = [...a];
        addCountsText(viaText, b.join(','));
        const viaArray = [...a];
        addInto(viaArray, b);
        expect(viaText, `${a} + ${b}`).toEqual(viaArray);
      }
    }
  });

  it('an empty text adds nothing, not a bucket', () => {
    const into: number[] = [];
    addCountsText(into, '');
    expect(into).toEqual([]);
  });
});

describe('addCountsText, several histograms and offsets', () => {
  it("adds ';'-separated histograms, each from bucket 0 or from the bucket before its ':'", () => {
    const into: number[] = [];
    addCountsText(into, '0,2,1;3:1,-1;1:4;6:-1');
    expect(into).toEqual([0, 6, 1, 1, -1, 0, -1]);
  });

  it('a one-count histogram at a bucket pads the buckets below it with zeros', () => {
    const into: number[] = [];
    addCountsText(into, '5:1');
    expect(into).toEqual([0, 0, 0, 0, 0, 1]);
  });
});
