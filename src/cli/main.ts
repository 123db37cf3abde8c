#!/usr/bin/env node
/** The `fdkeeper` command (bin). The commands live in ./program.ts. */
import { main } from './program.js';

// A reader that stops early (`fdkeeper inspect 1 | head`) closes the pipe: end quietly, as `ls | head`
// does, instead of dying on an unhandled EPIPE with a stack trace. Whatever was printed was wanted.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
}

process.exitCode = await main(process.argv);
