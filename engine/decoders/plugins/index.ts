/** The built-in plugin decoders `<plugin_decoder>` may name (names compared exactly). */
import type { PluginDecoder } from '../model.js';
import { jsonDecoder } from './json.js';
import { ossecAlertDecoder } from './ossec-alert.js';
import { pfDecoder } from './pf.js';
import { sonicWallDecoder } from './sonicwall.js';
import { symantecWsDecoder } from './symantec-ws.js';

export const PLUGIN_DECODERS: ReadonlyMap<string, PluginDecoder> = new Map<string, PluginDecoder>([
  ['PF_Decoder', pfDecoder],
  ['SymantecWS_Decoder', symantecWsDecoder],
  ['SonicWall_Decoder', sonicWallDecoder],
  ['OSSECAlert_Decoder', ossecAlertDecoder],
  ['JSON_Decoder', jsonDecoder],
]);

export { forwardedAlert, type ForwardedAlert } from './ossec-alert.js';
