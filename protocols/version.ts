/** Software version, compared exactly between master and workers as Wazuh does (error 3031). */
export const CLUSTERD_VERSION = '0.1.0';
/** Wire protocol version, checked first in the handshake. */
export const PROTOCOL_VERSION = 1;
