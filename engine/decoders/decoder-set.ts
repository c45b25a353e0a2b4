/** The decoder half of the analysis engine: decoder XML in, decoded events out. */
export { compileDecoders, decoderId, MAX_ORDER_FIELDS } from './compile.js';
export { decodeEvent, newDecoderState, type DecoderState } from './decode.js';
export type { DecoderSet, DecoderType, LoadWarning, TopDecoder } from './model.js';
export { forwardedAlert, type ForwardedAlert } from './plugins/index.js';
