/**
 * `<time>` and `<weekday>`, read and checked as Wazuh does. A time window is kept as two
 * "HH:MM" strings compared with the event hour's first five characters; a reversed
 * range ("6 pm - 8:30 am") becomes the negation of the range between the two times.
 */
import { asciiLower } from '../xml/os-xml.js';

export interface TimeWindow {
  readonly negate: boolean;
  readonly from: string;
  readonly to: string;
}

/** Days 0 (Sunday) to 6 (Saturday). */
export interface DaySet {
  readonly days: readonly boolean[];
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** C atoi: optional blanks and sign, then digits; 0 when there are none. */
export function atoi(text: string, from = 0): number {
  let i = from;
  while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r' || text[i] === '\f' || text[i] === '\v') i++;
  let sign = 1;
  if (text[i] === '+' || text[i] === '-') {
    if (text[i] === '-') sign = -1;
    i++;
  }
  let value = 0;
  while (isDigit(text[i])) value = value * 10 + (text.charCodeAt(i++) - 48);
  return sign * value;
}

function skipSpaces(text: string, i: number): number {
  while (text[i] === ' ') i++;
  return i;
}

const two = (n: number): string => (n < 10 && n >= 0 ? `0${n}` : String(n));

/** One "h[:mm][ am|pm]" at `i`: the normalised "HH:MM" and where parsing stopped. */
function readHour(text: string, start: number): { hour: string; next: number } | undefined {
  let i = start;
  let hour = atoi(text, i);
  if (hour < 0 || hour >= 24) return undefined;
  let digits = 0;
  while (isDigit(text[i])) {
    digits++;
    i++;
  }
  if (digits > 2) return undefined;
  let minute = 0;
  if (text[i] === ':') {
    i++;
    if ((!isDigit(text[i]) || !isDigit(text[i + 1])) && isDigit(text[i + 2])) return undefined;
    minute = atoi(text, i);
    i = Math.min(i + 2, text.length);
  }
  i = skipSpaces(text, i);
  const meridiem = text[i]?.toLowerCase();
  if (meridiem === 'a' || meridiem === 'p') {
    if (text[i + 1]?.toLowerCase() !== 'm') return undefined;
    if (hour === 12) hour = 0;
    if (meridiem === 'p') hour += 12;
    if (hour >= 24) return undefined;
    i += 2;
  }
  const out = `${two(hour)}:${two(minute)}`;
  return out.length > 6 ? undefined : { hour: out, next: i };
}

/** `<time>`: undefined when Wazuh refuses the text (a load error). */
export function parseTimeWindow(text: string): TimeWindow | undefined {
  let i = skipSpaces(text, 0);
  let negate = false;
  if (text[i] === '!') {
    negate = true;
    i = skipSpaces(text, i + 1);
  }
  const first = readHour(text, i);
  if (!first) return undefined;
  i = skipSpaces(text, first.next);
  if (text[i] !== '-') return undefined;
  const second = readHour(text, skipSpaces(text, i + 1));
  if (!second) return undefined;
  if (skipSpaces(text, second.next) !== text.length) return undefined;
  if (first.hour > second.hour) return { negate: true, from: second.hour, to: first.hour };
  return { negate, from: first.hour, to: second.hour };
}

/** `hhmm` is the event's "HH:MM" (local time of processing). */
export function inTimeWindow(window: TimeWindow, hhmm: string): boolean {
  const inside = hhmm >= window.from && hhmm <= window.to;
  return inside !== window.negate;
}

const DAY_NAMES: readonly (readonly [string, number])[] = [
  ['sunday', 0], ['sun', 0], ['monday', 1], ['mon', 1], ['tuesday', 2], ['tue', 2],
  ['wednesday', 3], ['wed', 3], ['thursday', 4], ['thu', 4], ['friday', 5], ['fri', 5],
  ['saturday', 6], ['sat', 6], ['weekdays', 7], ['weekends', 8],
];

/**
 * `<weekday>`: names separated by spaces or commas. Wazuh's `!` sets a negation flag but
 * never skips the `!` itself, so a negated day list is always refused; so is it here.
 */
export function parseDaySet(text: string): DaySet | undefined {
  const days = [false, false, false, false, false, false, false];
  let i = skipSpaces(text, 0);
  while (i < text.length) {
    const rest = asciiLower(text.slice(i));
    const hit = DAY_NAMES.find(([name]) => rest.startsWith(name));
    if (!hit) return undefined;
    const [name, day] = hit;
    if (day === 7) for (const d of [1, 2, 3, 4, 5]) days[d] = true;
    else if (day === 8) days[0] = days[6] = true;
    else days[day] = true;
    i += name.length;
    if (text[i] === ' ' || text[i] === ',') {
      while (text[i] === ' ' || text[i] === ',') i++;
    } else if (i !== text.length) return undefined;
  }
  return days.some(Boolean) ? { days } : undefined;
}

export function onDay(set: DaySet, weekday: number): boolean {
  return set.days[weekday] === true;
}
