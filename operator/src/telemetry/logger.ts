import winston from 'winston';

export type Logger = winston.Logger;

/**
 * JSON logs for the operator. Child loggers carry context fields: every line about an object has its
 * `namespace` and `name` (`logger.child({ namespace, name })`).
 */
export function createLogger(level = 'info', component = 'operator'): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { component },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      winston.format.json(),
    ),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
}

/** A logger that drops everything, for unit tests of code that takes a logger. */
export function silentLogger(): Logger {
  return winston.createLogger({
    silent: true,
    transports: [new winston.transports.Console({ silent: true })],
  });
}
