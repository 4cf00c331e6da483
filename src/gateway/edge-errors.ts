// Errors that never reach a route: the router's (a malformed or over-long URL), the HTTP
// parser's (a malformed request, headers too large), and a request arriving while the server
// closes. Each is answered with the OpenAI envelope like every other error (DESIGN 13).
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { envelope } from './http-errors.ts';

/** Fastify's `frameworkErrors`: router errors, answered before any hook or route runs. */
export function frameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  switch (err.code) {
    // An id longer than any id volley mints cannot name anything.
    case 'FST_ERR_MAX_PARAM_LENGTH':
      void reply.code(404).send(envelope(404, 'No such resource: a path parameter is longer than any valid one.', 'not_found'));
      return;
    case 'FST_ERR_BAD_URL':
      void reply.code(400).send(envelope(400, 'The URL is not valid (a malformed percent-encoding?).', 'invalid_url'));
      return;
    default: {
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 400;
      void reply.code(status).send(envelope(status, 'The request could not be routed.', 'invalid_request'));
    }
  }
}

/**
 * Node's `clientError`: the HTTP parser refused what the client sent. The socket holds no
 * request to answer through, so the envelope is written as raw HTTP, and the connection
 * closed (its framing is unknown).
 */
export function clientError(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [status, reason, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'The request headers are too large.']
      : [400, 'Bad Request', 'The HTTP request is malformed.'];
  const body = JSON.stringify(envelope(status, message, 'invalid_http_request'));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * A request that arrives on a kept-alive connection while the server closes: 503 with the
 * envelope and Retry-After, so a client retries against another instance (Fastify's own
 * `return503OnClosing` answers a body of its own shape).
 */
export function answerWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_req, reply, done) => {
    if (!closing) return done();
    void reply
      .code(503)
      .header('retry-after', '1')
      .header('connection', 'close')
      .send(envelope(503, 'The server is shutting down; retry the request.', 'server_shutting_down'));
  });
}
