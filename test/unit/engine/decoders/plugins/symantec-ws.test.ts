/** SymantecWS_Decoder on Symantec Web Security lines. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { decode, load } from '../fixture.js';

const set = load('<decoder name="sws"><prematch>^\\d\\d\\d\\d\\d\\d\\d\\d,\\d\\d\\d+,</prematch><plugin_decoder>SymantecWS_Decoder</plugin_decoder></decoder>');
const sws = (log: string, decoders = set): Record<string, string> => decode(decoders, log).fields as Record<string, string>;

test('user, address, url and id; the id keeps its key and runs over commas for 9 bytes', () => {
  assert.deepEqual(sws('20070717,73613,1=5,11=10.1.1.3,10=userc,3=1,2=1'), { srcip: '10.1.1.3', dstuser: 'userc', id: '3=1,2=1' });
  assert.deepEqual(sws('20070717,73614,1=5,11=1.2.3.4,1106=News,60=http://news.bbc.co.uk/,10=userX,1000=212.58.240.42,2=27'), {
    srcip: '1.2.3.4', url: 'http://news.bbc.co.uk/', dstuser: 'userX', id: '2=27',
  });
});

test('the first value of a key wins; entries start right after the first comma', () => {
  assert.deepEqual(sws('20070717,111,11=a,11=b,3=123456789012'), { srcip: 'a', id: '3=1234567' });
  // The C looks for a second comma from the first one and finds the same one.
  const loose = load('<decoder name="sws"><prematch>^\\d\\d\\d\\d\\d\\d\\d\\d,</prematch><plugin_decoder>SymantecWS_Decoder</plugin_decoder></decoder>');
  assert.deepEqual(sws('20070717,10=x,3=1', loose), { dstuser: 'x', id: '3=1' });
});
