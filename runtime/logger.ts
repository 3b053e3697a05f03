/** The process logger (pino), with secrets redacted wherever they might appear. */
import { pino, type Logger } from 'pino';

/** Paths pino blanks out before a line is written. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  '*.password',
  '*.bindPassword',
  '*.apiKey',
  '*.token',
  '*.secret',
  '*.databaseUrl',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'elevate' } },
    destination,
  );
}
