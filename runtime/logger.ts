/**
 * Logs in Wazuh's cluster.log line format:
 *   `YYYY/MM/DD HH:MM:SS LEVEL: [<tag>] [<subtag>] message`
 * Tags say who (`Master`, `Worker w1`, `Local Server`), subtags say which task
 * (`Main`, `Keep alive`, `Integrity sync`). Tags travel with every call instead of
 * winston child metadata, which the root's defaultMeta overrides (winston #2029).
 */
import fs from 'node:fs';
import path from 'node:path';
import winston from 'winston';

export const LOG_LEVELS = { error: 0, warning: 1, info: 2, debug: 3, debug2: 4 } as const;
export type LogLevel = keyof typeof LOG_LEVELS;

export interface Logger {
  error(message: string): void;
  warning(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  debug2(message: string): void;
  /** Same tag, another task subtag. */
  task(subtag: string): Logger;
  /** Another tag (and subtag, default `Main`). */
  tagged(tag: string, subtag?: string): Logger;
}

export interface LogSink {
  write(level: LogLevel, tag: string, subtag: string, message: string): void;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Local time, as Wazuh writes it. */
export function formatLogTime(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatLogLine(at: Date, level: LogLevel, tag: string, subtag: string, message: string): string {
  return `${formatLogTime(at)} ${level.toUpperCase()}: [${tag}] [${subtag}] ${message}`;
}

export function createLogger(sink: LogSink, tag: string, subtag = 'Main'): Logger {
  const at = (level: LogLevel) => (message: string): void => sink.write(level, tag, subtag, message);
  return {
    error: at('error'),
    warning: at('warning'),
    info: at('info'),
    debug: at('debug'),
    debug2: at('debug2'),
    task: (next) => createLogger(sink, tag, next),
    tagged: (nextTag, nextSubtag = 'Main') => createLogger(sink, nextTag, nextSubtag),
  };
}

export interface FileLogOptions {
  file: string;
  level: LogLevel;
  /** Also write each line to stderr (foreground mode). */
  echo: boolean;
}

export interface ClosableSink extends LogSink {
  /** Flushes everything written so far; logs are lost on process.exit otherwise (winston #228). */
  close(): Promise<void>;
}

export function createFileSink(opts: FileLogOptions): ClosableSink {
  fs.mkdirSync(path.dirname(opts.file), { recursive: true });
  const line = winston.format.printf((info) =>
    formatLogLine(new Date(), info.level as LogLevel, String(info['tag']), String(info['subtag']), String(info.message)));
  const transports: winston.transport[] = [
    new winston.transports.File({ filename: opts.file, format: line, maxsize: 100 * 1024 * 1024, maxFiles: 5, tailable: true }),
  ];
  if (opts.echo) transports.push(new winston.transports.Stream({ stream: process.stderr, format: line }));
  const w = winston.createLogger({ levels: LOG_LEVELS, level: opts.level, transports, exitOnError: false });
  return {
    write(level, tag, subtag, message) {
      w.log({ level, message, tag, subtag });
    },
    close: () => new Promise<void>((resolve) => {
      w.on('finish', () => resolve());
      w.end();
    }),
  };
}

/** Collects lines in memory: for unit tests of code that logs. */
export class MemorySink implements LogSink {
  readonly lines: string[] = [];
  write(level: LogLevel, tag: string, subtag: string, message: string): void {
    this.lines.push(`${level.toUpperCase()}: [${tag}] [${subtag}] ${message}`);
  }
}
