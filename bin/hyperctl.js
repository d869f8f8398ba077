#!/usr/bin/env node
// Entry point: the compiled TypeScript lives in dist/ (built by `npm install` through `prepare`).
import '../dist/cli/hyperctl.js';
