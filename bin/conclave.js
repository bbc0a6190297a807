#!/usr/bin/env node
// Conclave runs from its TypeScript sources through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../node/cli.ts');
