import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { Logger } from './rpc/types.ts';

/** The values of `--log-level`, most severe first; `silent` writes nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/**
 * Field names that must never carry a value into a log line: request parameters and
 * results, headers, credentials, URLs (a session URL holds its token) and raw
 * transactions. No call site logs them; a field so named by mistake is censored.
 */
const NEVER_LOGGED = ['params', 'result', 'headers', 'authorization', 'token', 'url', 'raw', 'tx', 'body'];

/**
 * The node's operational log: one JSON object per line (pino: `level` as pino's number,
 * 10 trace to 60 fatal; `time` in ISO 8601; `msg`; then the event's fields), written
 * synchronously to `destination` (default: stderr, so that stdout keeps the
 * human-readable banner and a line is never lost to `process.exit`).
 */
export function createLogger(level: LogLevelName = 'info', destination: DestinationStream = pino.destination({ fd: 2, sync: true })): PinoLogger {
  return pino(
    {
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: NEVER_LOGGED, censor: '[not logged]' },
    },
    destination,
  );
}

/** The `(level, message, fields)` logger that the node and its JSON-RPC server take, writing to `logger`. */
export function asLogger(logger: PinoLogger): Logger {
  return (level, msg, fields) => (fields === undefined ? logger[level](msg) : logger[level](fields, msg));
}
