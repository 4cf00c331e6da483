/**
 * The development upstream's Fastify app: routes, the JSON body parser, the error and
 * not-found handlers, and the per-request controls. Builds the app; never listens.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { isObject, type Answer, type Json, type MintId } from './answer.ts';
import { chatCompletions } from './chat.ts';
import { resolveControls, type DevControls } from './controls.ts';
import { createEmbeddings } from './embeddings.ts';
import {
  BodyError,
  INVALID_JSON_MESSAGE,
  MAX_BODY_BYTES,
  NOT_AN_OBJECT_MESSAGE,
  clientErrorHandler,
  errorReply,
  isBodyError,
} from './http-errors.ts';
import { listModels, retrieveModel } from './models.ts';
import { createResponse } from './responses.ts';
import { delay, sendAnswer, sendError } from './send.ts';

/** One request as the request hook sees it, before it is answered. */
export interface DevUpstreamCall {
  method: string;
  /** The URL path, without the query string. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body; undefined for a request without one (or whose body did not parse). */
  body: unknown;
}

export interface DevUpstreamAppOptions {
  defaults: { latencyMs: number; chunkDelayMs: number };
  mintId: MintId;
  onRequest?: ((call: DevUpstreamCall) => void) | undefined;
}

/** Longer than the usual client pool idle timeouts, so clients close idle sockets first. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

type PostHandler = (body: Json, model: string, mintId: MintId, nowSeconds: number) => Answer;
type Handler = (request: FastifyRequest, reply: FastifyReply) => void | Promise<void>;

/** Builds the app; `listen` it (or `inject`) to serve. */
export function buildDevUpstreamApp(opts: DevUpstreamAppOptions): FastifyInstance {
  const { defaults, mintId, onRequest } = opts;
  const app = Fastify({
    logger: false,
    // Request ids are Fastify's own bookkeeping; answers carry their own x-request-id.
    genReqId: () => '',
    requestIdHeader: false,
    bodyLimit: MAX_BODY_BYTES,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // close() ends every connection at once, in-flight streams and waits included.
    forceCloseConnections: true,
    return503OnClosing: false,
    exposeHeadRoutes: false,
    http: { keepAlive: true, noDelay: true },
    clientErrorHandler,
    // A path that does not decode (a bad %-escape) names no endpoint.
    frameworkErrors: (_error, request, reply) => notFound(request, reply),
  });

  const hook = (request: FastifyRequest): void => {
    if (onRequest !== undefined) onRequest(callOf(request, pathOf(request.url), request.body));
  };

  const post = (handler: PostHandler): Handler => (request, reply) => {
    hook(request);
    const body = request.body as Json | undefined;
    // Without a body (no Content-Length, or 0) Fastify skips the parser.
    if (body === undefined) return sendError(reply, 400, INVALID_JSON_MESSAGE, null, 'invalid_json', mintId);
    const model = body['model'];
    if (typeof model !== 'string' || model === '') {
      return sendError(reply, 400, 'You must provide a model parameter.', 'model', 'missing_required_parameter', mintId);
    }
    const controls = controlsOf(request, model, defaults);
    return respond(reply, controls, mintId, () => handler(body, model, mintId, Math.floor(Date.now() / 1000)));
  };

  const get = (answer: () => Answer): Handler => (request, reply) => {
    hook(request);
    return respond(reply, controlsOf(request, undefined, defaults), mintId, answer);
  };

  const notFound: Handler = (request, reply) => {
    hook(request);
    sendError(reply, 404, `Invalid URL (${request.method} ${pathOf(request.url)})`, null, null, mintId);
  };

  // Without parsers here, a request for an unknown path gets its 404 without its body being
  // read; the endpoints' scope below reads every body, whatever its content type, as JSON.
  app.removeAllContentTypeParsers();
  app.register((scope, _options, done) => {
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, text, parsed) => {
      let value: unknown;
      try {
        value = JSON.parse(text as string);
      } catch {
        parsed(new BodyError(INVALID_JSON_MESSAGE), undefined);
        return;
      }
      if (isObject(value)) parsed(null, value);
      else parsed(new BodyError(NOT_AN_OBJECT_MESSAGE), undefined);
    });
    scope.post('/v1/chat/completions', post(chatCompletions));
    scope.post('/v1/responses', post(createResponse));
    scope.post('/v1/embeddings', post((body, model) => createEmbeddings(body, model)));
    scope.get('/v1/models', get(listModels));
    scope.get('/v1/models/*', (request, reply) => {
      // The wildcard keeps ids with slashes (`ft:base/org/name`) whole; Fastify decodes it.
      const id = (request.params as Record<string, string | undefined>)['*'];
      if (id === undefined || id === '') return notFound(request, reply);
      return get(() => retrieveModel(id))(request, reply);
    });
    done();
  });

  app.setNotFoundHandler(notFound);

  app.setErrorHandler((error, request, reply) => {
    if (isBodyError(error)) onRequest?.(callOf(request, pathOf(request.url), undefined));
    // Fastify closes the connection after any parser error, for a body it may not have read
    // to the end; a body that was read but is not a JSON object leaves it reusable.
    if (error instanceof BodyError) reply.removeHeader('connection');
    const e = errorReply(error);
    sendError(reply, e.status, e.message, e.param, e.code, mintId);
  });

  return app;
}

/** Applies the latency and status controls, then sends the endpoint's answer. */
function respond(reply: FastifyReply, controls: DevControls, mintId: MintId, answer: () => Answer): void | Promise<void> {
  const deliver = (): void | Promise<void> => {
    if (controls.status !== undefined) {
      const status = controls.status;
      const message = `Simulated ${status} from the development upstream (requested by x-dev-status or the model name).`;
      return sendError(reply, status, message, null, 'dev_simulated_error', mintId);
    }
    return sendAnswer(reply, answer(), controls.chunkDelayMs, mintId);
  };
  if (controls.latencyMs === 0) return deliver();
  return delay(controls.latencyMs, reply.raw).then((connected) => {
    // The client left during the wait: nothing to send, and Fastify must not try either.
    if (!connected) reply.hijack();
    else return deliver();
  });
}

function controlsOf(request: FastifyRequest, model: string | undefined, defaults: DevUpstreamAppOptions['defaults']) {
  const headers = request.headers;
  return resolveControls(
    {
      latencyMs: headers['x-dev-latency-ms'],
      chunkDelayMs: headers['x-dev-chunk-delay-ms'],
      status: headers['x-dev-status'],
    },
    model,
    defaults,
  );
}

function callOf(request: FastifyRequest, path: string, body: unknown): DevUpstreamCall {
  return { method: request.method, path, headers: request.headers, body };
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
