/** Health checks, metrics and the reference itself. */
import { z } from 'zod';
import { UNAUTHENTICATED, healthResponses } from '../common-responses.js';
import { anyJsonObject } from '../request-docs.js';
import { route } from '../route-spec.js';

const OPENAPI_DOCUMENT = route({
  method: 'get',
  path: '/openapi.json',
  operationId: 'getOpenApiDocument',
  tag: 'operations',
  summary: 'This reference, as OpenAPI 3.1',
  description: 'Generated from the schemas the server validates with.',
  security: 'none',
  responses: { 200: { description: 'The OpenAPI document.', json: anyJsonObject } },
});

const API_REFERENCE_PAGE = route({
  method: 'get',
  path: '/docs/api',
  operationId: 'getApiReferencePage',
  tag: 'operations',
  summary: 'This reference, as a web page',
  description: 'One self-contained HTML page: no scripts, nothing loaded from elsewhere.',
  security: 'none',
  responses: { 200: { description: 'The reference.', html: true } },
});

/** The reference's own routes (`server/openapi/serve.ts`). */
export const REFERENCE_ROUTES = [OPENAPI_DOCUMENT, API_REFERENCE_PAGE] as const;

export const OPERATION_ROUTES = [
  route({
    method: 'get',
    path: '/livez',
    operationId: 'getLiveness',
    tag: 'operations',
    summary: 'Liveness: the process answers',
    description:
      'For an orchestrator’s liveness probe: 200 while the process serves requests, whatever its dependencies do (those are `/readyz`).',
    security: 'none',
    responses: { 200: { description: 'The process is alive.', json: z.object({ status: z.literal('ok') }) } },
  }),
  route({
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    tag: 'operations',
    summary: 'Readiness: Elevate and its dependencies answer',
    description:
      'For a load balancer’s or orchestrator’s readiness probe. Each check has 2 seconds. The answer says which part is down and nothing more; the reason is in the server’s log. While the process stops (SIGTERM) it answers 503 `draining` at once, so no new traffic is sent to it.',
    security: 'none',
    responses: healthResponses,
  }),
  route({
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    tag: 'operations',
    summary: 'Health of Elevate and its dependencies (the same as /readyz)',
    description:
      'Each check has 2 seconds. The answer says which part is down and nothing more; the reason is in the server’s log. Kept for existing monitors; `/readyz` is the same answer.',
    security: 'none',
    responses: healthResponses,
  }),
  OPENAPI_DOCUMENT,
  route({
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    tag: 'operations',
    summary: 'Prometheus metrics',
    description:
      'The Prometheus text exposition format: requests by outcome, active grants, pending approvals, the revocation lag histogram, revoke failures, Slack, OIDC and target errors. Needs `Authorization: Bearer` with the metrics token (`ELEVATE_METRICS_TOKEN`) or an admin token: counts of grants show when privilege is held. A worker without the API serves the same on `ELEVATE_METRICS_PORT`.',
    security: 'metrics',
    responses: {
      200: { description: 'The metrics.', text: ['text/plain'] },
      401: UNAUTHENTICATED,
    },
  }),
  API_REFERENCE_PAGE,
] as const;
