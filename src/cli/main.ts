#!/usr/bin/env node
/**
 * The `mrstack` executable.
 *
 * @module
 */
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { reportError } from './output.js';

// A reader that closes the pipe early (`mrstack log parse --json | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const program = buildProgram();
const json = process.argv.includes('--json');
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError && e.exitCode === 0) {
    // --help and --version end here.
    process.exitCode = 0;
  } else {
    process.exitCode = reportError(e, json);
  }
}
