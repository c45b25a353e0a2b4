/**
 * What the Redis buses share about their client: closing it as a shutdown, not an
 * outage (no handlers left to log it), and never waiting long for a quit.
 */
import type { Redis } from 'ioredis';

const QUIT_TIMEOUT_MS = 1000;

export async function closeQuietly(client: Redis): Promise<void> {
  client.removeAllListeners();
  client.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`quit timed out after ${QUIT_TIMEOUT_MS} ms`)), QUIT_TIMEOUT_MS);
  });
  try {
    await Promise.race([client.quit(), timeout]);
  } catch {
    client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}
