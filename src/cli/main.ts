#!/usr/bin/env node
/** The `fdkeeper` command (bin). The commands live in ./program.ts. */
import { main } from './program.js';

process.exitCode = await main(process.argv);
