// The dashboard (DESIGN 12) under /dashboard: sign-in, the pages (HTML shells from
// src/dashboard/, filled in the browser from the admin API with the session cookie) and their
// static files. Sessions are stateless (dashboard-session.ts), so any gateway process serves
// any signed-in browser.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MODEL_APIS } from '../../db/schema/models.ts';
import { SERVICE_TIERS } from '../../db/schema/requests.ts';
import { loadAssets } from '../../dashboard/assets.ts';
import { signInPage } from '../../dashboard/layout.ts';
import { keysPage, modelsPage, overviewPage, rangeName, requestPage, requestsPage } from '../../dashboard/pages.ts';
import type { GatewayContext } from '../context.ts';
import { CREATE_ENDPOINTS } from '../create-request.ts';
import { issueSession, sessionChecker, sessionCookieHeader, sessionKey, tokenMatcher } from '../dashboard-session.ts';
import { envelope } from '../http-errors.ts';

/** The sign-in form is a few hundred bytes; nothing larger is read. */
const LOGIN_BODY_LIMIT = 4096;

// The pages load scripts and styles from volley only and run no inline script, so an
// injected `<script>` could not run even if escaping failed somewhere.
const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

type Query = Record<string, unknown>;

export function registerDashboardRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const assets = loadAssets();
  const adminToken = ctx.config.ADMIN_TOKEN;
  const hasSession = sessionChecker(adminToken);
  const tokenMatches = tokenMatcher(adminToken);
  const key = adminToken === undefined ? undefined : sessionKey(adminToken);
  const choices = { endpoints: CREATE_ENDPOINTS, serviceTiers: SERVICE_TIERS };

  const sendHtml = (reply: FastifyReply, status: number, body: string) => reply.code(status).headers(HTML_HEADERS).send(body);

  /** A page for a signed-in browser; anyone else gets the sign-in form, which returns here. */
  const page = (render: (req: FastifyRequest) => string) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (!hasSession(req.headers.cookie)) return sendHtml(reply, 200, signInPage(assets, { next: safeNext(req.url) ?? '/dashboard' }));
    return sendHtml(reply, 200, render(req));
  };

  void app.register(
    async (d) => {
      // Only the sign-in form posts here; everything else keeps the app's JSON parser.
      d.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: LOGIN_BODY_LIMIT }, (_req, body, done) => {
        done(null, new URLSearchParams(body as string));
      });

      d.get('/', page((req) => overviewPage(assets, rangeName((req.query as Query).range))));
      d.get('/requests', page((req) => requestsPage(assets, req.query as Query, choices)));
      d.get('/requests/:id', page((req) => requestPage(assets, (req.params as { id: string }).id)));
      d.get('/keys', page(() => keysPage(assets)));
      d.get('/models', page(() => modelsPage(assets, MODEL_APIS)));

      d.get('/assets/:name', async (req: FastifyRequest<{ Params: { name: string }; Querystring: { v?: string } }>, reply) => {
        const asset = assets.get(req.params.name);
        if (!asset) return reply.code(404).send(envelope(404, 'No such dashboard asset.', 'not_found'));
        const etag = `"${asset.hash}"`;
        // A versioned URL (as the pages write them) names these exact bytes forever; any other
        // is revalidated, so an old cached copy is never used after an upgrade.
        void reply.headers({
          etag,
          'cache-control': req.query.v === asset.hash ? 'public, max-age=31536000, immutable' : 'no-cache',
          'x-content-type-options': 'nosniff',
        });
        if (req.headers['if-none-match'] === etag) return reply.code(304).send();
        return reply.type(asset.contentType).send(asset.body);
      });

      d.post('/login', { bodyLimit: LOGIN_BODY_LIMIT }, async (req, reply) => {
        if (!(req.body instanceof URLSearchParams)) {
          return reply
            .code(415)
            .send(envelope(415, 'Sign in with the form: a body of type application/x-www-form-urlencoded with a "token" field.', 'unsupported_media_type'));
        }
        const next = safeNext(req.body.get('next') ?? undefined) ?? '/dashboard';
        const wait = ctx.adminAttempts.waitFor(req.ip);
        if (wait > 0) {
          ctx.logger.info({ component: 'dashboard' }, 'dashboard sign-in refused: too many wrong tokens');
          void reply.header('retry-after', String(wait));
          return sendHtml(reply, 429, signInPage(assets, { error: `Too many wrong tokens from this address. Try again in ${wait} s.`, next }));
        }
        const token = req.body.get('token') ?? '';
        if (key === undefined || !tokenMatches(token)) {
          if (key !== undefined) ctx.adminAttempts.failed(req.ip);
          const error = adminToken === undefined ? 'The dashboard is disabled: ADMIN_TOKEN is not set.' : 'That is not the admin token.';
          ctx.logger.info({ component: 'dashboard' }, 'dashboard sign-in refused');
          return sendHtml(reply, 401, signInPage(assets, { error, next }));
        }
        ctx.logger.info({ component: 'dashboard' }, 'dashboard sign-in');
        return reply
          .header('set-cookie', sessionCookieHeader(issueSession(key, Date.now()), { secure: cameOverHttps(req) }))
          .header('cache-control', 'no-store')
          .redirect(next, 303);
      });

      // A reload after a failed sign-in, or a bookmarked form URL.
      d.get('/login', async (_req, reply) => reply.redirect('/dashboard', 303));

      d.post('/logout', async (req, reply) =>
        reply.header('set-cookie', sessionCookieHeader(null, { secure: cameOverHttps(req) })).redirect('/dashboard', 303),
      );
    },
    { prefix: '/dashboard' },
  );
}

/** Where to go after signing in: only a dashboard path of this origin (no open redirect). */
function safeNext(value: string | undefined): string | undefined {
  if (value === undefined || value.length > 2000) return undefined;
  return /^\/dashboard(?:[/?][^\s\\]*)?$/.test(value) && !/\/log(?:in|out)\b/.test(value) ? value : undefined;
}

/** Behind a TLS-terminating proxy the request arrives as http with X-Forwarded-Proto: https. */
function cameOverHttps(req: FastifyRequest): boolean {
  const forwarded = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return req.protocol === 'https' || first === 'https';
}
