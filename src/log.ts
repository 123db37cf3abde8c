/**
 * Logger adapters over `LogFile` (from `fdkeeper`): a pino destination, a winston transport and a
 * plain Writable. None of them loads pino or winston; each implements the interface the logger expects.
 * The pino *transport* (a worker thread) is `fdkeeper/pino`.
 *
 * ```ts
 * import pino from 'pino';
 * import { logDestination } from 'fdkeeper/log';
 * const logger = pino(logDestination('/var/log/app.log'));
 * ```
 *
 * @module
 */
export { logDestination, type LogDestination, type LogDestinationEvents } from './log/log-destination.js';
export {
  LogTransport,
  type LogTransportOptions,
  type WinstonFormat,
  type WinstonInfo,
} from './log/winston-transport.js';
export { createLogWritable, type LogWritable, type LogWritableOptions } from './log/log-writable.js';
export type { PinoTransportOptions } from './log/pino-transport.js';
export type { LogFileOptions } from './log/types.js';
