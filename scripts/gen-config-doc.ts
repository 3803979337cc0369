// Writes docs/configuration.md from src/config/definitions.ts. `npm test` checks the file is current.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderConfigurationDoc } from '../src/config/config-doc.ts';

const target = resolve(import.meta.dirname, '..', 'docs', 'configuration.md');
writeFileSync(target, renderConfigurationDoc());
process.stdout.write(`wrote ${target}\n`);
