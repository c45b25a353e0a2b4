/**
 * An agent's enrolment over TLS (agent protocol §3.2/§3.4), as the simulator does it:
 * the request line and the answer's reading are protocols/enrolment.ts's agent half.
 */
import net from 'node:net';
import tls from 'node:tls';
import {
  enrolmentRequestLine, keyAnswerComplete, parseEnrolmentAnswer, type EnrolmentKey, type EnrolmentRequestParts,
} from '../protocols/enrolment.js';

const ENROL_TIMEOUT_MS = 20_000;

/** One TLS client context for every enrolment, as one agent process has: building one costs more than a handshake. */
let enrolContext: tls.SecureContext | undefined;

/** One enrolment: TLS connect (certificate not verified), one request line, the key (or the server's error). */
export function enrolAgent(host: string, port: number, request: EnrolmentRequestParts, timeoutMs = ENROL_TIMEOUT_MS): Promise<EnrolmentKey> {
  enrolContext ??= tls.createSecureContext();
  const secureContext = enrolContext;
  const where = `${host}:${port}`;
  return new Promise((resolve, reject) => {
    let answer = '';
    let settled = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) {
        reject(err);
        return;
      }
      try {
        resolve(parseEnrolmentAnswer(answer));
      } catch (e) {
        reject(e as Error);
      }
    };
    const socket = tls.connect({ host, port, rejectUnauthorized: false, secureContext, servername: net.isIP(host) ? undefined : host },
      () => socket.write(enrolmentRequestLine(request)));
    const timer = setTimeout(() => finish(new Error(`enrolment at ${where}: no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      answer += d;
      // A complete key answer needs no wait for the server's close.
      if (keyAnswerComplete(answer)) finish(null);
    });
    socket.on('error', (err) => finish(answer === '' ? new Error(`enrolment at ${where} failed: ${err.message}`) : null));
    socket.on('close', () => finish(null));
  });
}
