#!/usr/bin/env node
/** The kubectl-modelship executable (the npm bin): `kubectl modelship <command>`. */
import { buildPlugin } from './main.js';

await buildPlugin()
  .parseAsync(process.argv)
  .catch((err: Error) => {
    console.error(`kubectl-modelship: ${err.message}`);
    process.exit(1);
  });
