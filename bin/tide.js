#!/usr/bin/env -S node --max-semi-space-size=32 --initial-old-space-size=128
// Entry point of the `tide` command: loads the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
