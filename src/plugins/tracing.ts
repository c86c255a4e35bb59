import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { loggableUrl } from '../shared/logger.js';

/**
 * A SERVER span per request, named by method and route template, child of the caller's W3C `traceparent`
 * when one is sent, with the request id as an attribute. The span is made the active context for the
 * request's hooks and handler (Fastify carries that context across body parsing), so the database layer's
 * spans become its children. Registered only when tracing is on.
 */
export const tracingPlugin = fp<{ tracer: Tracer }>(
  (app, { tracer }, done) => {
    const contexts = new WeakMap<FastifyRequest, Context>();

    app.addHook('onRequest', (request, _reply, next) => {
      const parent = propagation.extract(ROOT_CONTEXT, request.headers);
      const route = request.routeOptions.url;
      const span = tracer.startSpan(
        route ? `${request.method} ${route}` : request.method,
        {
          kind: SpanKind.SERVER,
          attributes: {
            'http.request.method': request.method,
            'url.path': loggableUrl(request).split('?', 1)[0] ?? '/',
            'request.id': request.id,
            ...(route ? { 'http.route': route } : {}),
          },
        },
        parent,
      );
      const active = trace.setSpan(parent, span);
      contexts.set(request, active);
      context.with(active, next);
    });

    app.addHook('onError', (request, _reply, error, next) => {
      const active = contexts.get(request);
      if (active) trace.getSpan(active)?.recordException(error);
      next();
    });

    const end = (request: FastifyRequest, status: number | undefined) => {
      const active = contexts.get(request);
      if (!active) return;
      contexts.delete(request);
      const span = trace.getSpan(active);
      if (!span) return;
      if (status === undefined) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'client closed the connection' });
      } else {
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    };
    app.addHook('onResponse', (request, reply, next) => {
      end(request, reply.statusCode);
      next();
    });
    app.addHook('onRequestAbort', (request, next) => {
      end(request, undefined);
      next();
    });
    done();
  },
  { name: 'tracing', fastify: '5.x' },
);
