// Request bodies: read as bytes (limited to MAX_BODY_BYTES by Fastify), kept verbatim for
// the upstream and the stored row, and parsed once as JSON for routing. Any content type is
// read as JSON, as the OpenAI API does: a curl without `-H content-type` still works.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest } from './http-errors.ts';

export interface JsonBody {
  /** The bytes as received. */
  raw: Buffer;
  /** The same, decoded as UTF-8; what the request row stores. */
  text: string;
  value: unknown;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The tracked request's uuid, for the access log; null when untracked. */
    volleyRequestId: string | null;
  }
}

export function registerJsonBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, raw, done) => {
    const bytes = raw as Buffer;
    if (bytes.length === 0) {
      done(null, undefined);
      return;
    }
    const text = bytes.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      done(badRequest('We could not parse the JSON body of your request. Send valid JSON.', null, 'invalid_json'), undefined);
      return;
    }
    done(null, { raw: bytes, text, value } satisfies JsonBody);
  });
  app.decorateRequest('volleyRequestId', null);
}

/** The parsed JSON body, or a 400 when there is none. */
export function jsonBody(req: FastifyRequest): JsonBody {
  const body = req.body as JsonBody | undefined;
  if (body === undefined) throw badRequest('The request body must be a JSON object.', null, 'invalid_json');
  return body;
}
