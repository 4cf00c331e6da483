import { describe, expect, it } from 'vitest';
import { InvalidResponseId } from '../../../src/errors.ts';
import { parseResponseId, toResponseId } from '../../../src/responses/response-id.ts';

const uuid = '0191f3a4-6b2c-7d3e-8f40-123456789abc';

describe('response ids', () => {
  it('prefixes the request uuid with resp_', () => {
    expect(toResponseId(uuid)).toBe(`resp_${uuid}`);
  });

  it('accepts resp_<uuid> and a bare uuid', () => {
    expect(parseResponseId(`resp_${uuid}`)).toBe(uuid);
    expect(parseResponseId(uuid)).toBe(uuid);
  });

  it('round-trips through toResponseId', () => {
    expect(parseResponseId(toResponseId(uuid))).toBe(uuid);
  });

  it('accepts uppercase hex and answers it lowercase', () => {
    expect(parseResponseId(`resp_${uuid.toUpperCase()}`)).toBe(uuid);
    expect(parseResponseId(uuid.toUpperCase())).toBe(uuid);
  });

  it.each([
    ['empty', ''],
    ['prefix only', 'resp_'],
    ['garbage', 'hello'],
    ['an OpenAI-style id', 'resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b'],
    ['too short', `resp_${uuid.slice(0, -1)}`],
    ['too long', `resp_${uuid}0`],
    ['non-hex', 'resp_0191f3a4-6b2c-7d3e-8f40-12345678zabc'],
    ['no dashes', uuid.replaceAll('-', '')],
    ['surrounding space', ` ${uuid}`],
    ['a double prefix', `resp_resp_${uuid}`],
    ['another prefix', `msg_${uuid}`],
    ['uppercase prefix', `RESP_${uuid}`],
  ])('rejects %s with InvalidResponseId', (_name, value) => {
    expect(() => parseResponseId(value)).toThrow(InvalidResponseId);
    try {
      parseResponseId(value);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidResponseId);
      expect((error as InvalidResponseId).code).toBe('invalid_response_id');
      expect((error as InvalidResponseId).retryable).toBe(false);
    }
  });
});
