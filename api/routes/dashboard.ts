// The dashboard's files (GET /hypervisor/ui/): the page, its script and its styles, built from ui/
// by `npm run build:ui` (part of `npm install` and `npm run build`) into dist/ui/. No token: the page
// holds no data, it logs in like hyper-cli and reads everything through the API. Nothing comes from
// another origin, and the Content-Security-Policy says so.
import express, { Router } from 'express';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { HttpError, notFound } from '../http-error.js';

/** Scripts and data only from the daemon; uPlot sets element styles, hence style-src 'unsafe-inline'. */
const POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function dashboardRoutes(dir: string): Router {
  const router = Router();
  router.use('/ui', (req, res, next) => {
    if (!existsSync(path.join(dir, 'index.html')))
      throw new HttpError(503, 'dashboard_not_built', `the dashboard is not built in ${dir}: run npm run build:ui`);
    res.set({
      'Content-Security-Policy': POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      // Revalidated on each load: a daemon upgrade shows its own dashboard at once.
      'Cache-Control': 'no-cache',
    });
    next();
  });
  router.use('/ui', express.static(dir, { index: 'index.html', redirect: true, fallthrough: true, etag: true }));
  // A file the dashboard does not have is a 404 here, not a login prompt from the API behind.
  router.use('/ui', (req) => notFound(req));
  return router;
}
