// Response ids are the request row's uuid behind a `resp_` prefix, so the official SDKs
// (which expect `resp_…`) can retrieve what the gateway recorded.
import { InvalidResponseId } from '../errors.ts';

const RESPONSE_ID_PREFIX = 'resp_';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function toResponseId(uuid: string): string {
  return `${RESPONSE_ID_PREFIX}${uuid}`;
}

/**
 * The request uuid (lowercase) behind `resp_<uuid>` or a bare `<uuid>`. Throws
 * `InvalidResponseId` for anything else, so a route can answer 404 without a query.
 */
export function parseResponseId(value: string): string {
  const uuid = value.startsWith(RESPONSE_ID_PREFIX) ? value.slice(RESPONSE_ID_PREFIX.length) : value;
  if (!UUID.test(uuid)) throw new InvalidResponseId(value);
  return uuid.toLowerCase();
}
